import Foundation
import LedgerCore
import LedgerDomain
import LedgerProjections
import LedgerStorage

/// What the marketing report shows, gathered from the log and the projections as of a day.
public struct MarketingReportData: Sendable {
    public struct TierMonth: Sendable {
        public var month: String
        public var counts: [Tier: Int]
    }

    public var asOf: Timestamp
    public var rulesVersion: String
    public var clients: Int
    public var tierMix: [TierMonth]
    public var cohorts: [RetentionMetrics.Cohort]
    public var stages: [String: Int]
    public var campaigns: [CampaignReport]
    public var churnBands: [String: Int]
    /// Clients per score decile (0–9, 10–19, … 90–100).
    public var churnDeciles: [Int]
    public var service: ServiceQuality

    /// Gathers the report: tier mix by month end from the log (the last `months` months),
    /// retention, churn risk and service quality from `engine` (caught up by the caller),
    /// campaign outcomes from the log.
    public static func gather(log: any EventStore, engine: ProjectionEngine, rules: Rules, asOf: Timestamp, months: Int = 12) throws -> MarketingReportData {
        let snapshot = try ClientSnapshot.take(log, rules: rules, asOf: asOf)
        var tierMix: [TierMonth] = []
        let (year, month, _) = asOf.civilDate
        let current = year * 12 + month - 1
        for index in stride(from: Int64(months - 1), through: 0, by: -1) {
            let m = current - index
            // The end of that month (for the current month: the as-of moment).
            let end = index == 0 ? asOf : Timestamp(millisecondsSinceEpoch: Timestamp(dayNumber: Timestamp.days(fromCivil: (m + 1) / 12, (m + 1) % 12 + 1, 1)).millisecondsSinceEpoch - 1)
            var counts: [Tier: Int] = [:]
            for fold in snapshot.folds {
                guard let registered = fold.state.registeredAt, registered <= end else { continue }
                if let offboarded = fold.state.offboardedAt, offboarded <= end { continue }
                counts[ClientState.tier(in: fold.state.tierHistory, at: end), default: 0] += 1
            }
            let number = m % 12 + 1
            tierMix.append(TierMonth(month: "\(m / 12)-\(number < 10 ? "0" : "")\(number)", counts: counts))
        }
        let metrics = try engine.retentionMetrics(asOf: asOf)
        let scores = try engine.churnScores(asOf: asOf)
        var bands: [String: Int] = [:]
        var deciles = [Int](repeating: 0, count: 10)
        for score in scores {
            bands[score.band, default: 0] += 1
            deciles[min(9, Int(score.score / 10))] += 1
        }
        var campaigns: [CampaignReport] = []
        for record in try Ledger.campaignRecords(store: log, rules: rules) where record.definition != nil {
            campaigns.append(try CampaignAnalysis.report(record, store: log, asOf: asOf))
        }
        return MarketingReportData(
            asOf: asOf, rulesVersion: rules.version, clients: metrics.clients, tierMix: tierMix,
            cohorts: Array(metrics.cohorts.suffix(months)), stages: metrics.stages, campaigns: campaigns, churnBands: bands,
            churnDeciles: deciles, service: try engine.serviceQuality(asOf: asOf, by: .channel))
    }
}

/// The marketing report as one self-contained HTML page: inline CSS, inline SVG charts and
/// a small inline script (no network, no external file). The charts are drawn as SVG when
/// the page is written; the script adds the hover labels and then sets the marker element
/// `#report-ready`, so a headless browser can tell that the page ran without a script error.
public enum HTMLReport {
    static let tierColours: [Tier: String] = [
        .standard: "#9aa5b1", .silver: "#6c8ebf", .gold: "#d6a419", .platinum: "#5b4b8a", .diamond: "#1f9e89",
    ]
    static let stageOrder = LifecycleStage.allCases.map(\.rawValue)

    public static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if scalar.value < 0x20 && scalar != "\n" { out += "&#\(scalar.value);" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    static func number(_ value: Double) -> String { String(format: "%.1f", value) }

    /// A rectangle with a hover label (`data-label`, `data-value`).
    static func bar(x: Double, y: Double, width: Double, height: Double, fill: String, label: String, value: String) -> String {
        #"<rect x="\#(number(x))" y="\#(number(y))" width="\#(number(max(0, width)))" height="\#(number(max(0, height)))" fill="\#(fill)" data-label="\#(escape(label))" data-value="\#(escape(value))"/>"#
    }

    static func text(_ content: String, x: Double, y: Double, anchor: String = "start", size: Int = 11) -> String {
        #"<text x="\#(number(x))" y="\#(number(y))" text-anchor="\#(anchor)" font-size="\#(size)">\#(escape(content))</text>"#
    }

    static func svg(id: String, width: Int, height: Int, title: String, _ body: [String]) -> String {
        #"<svg class="chart" id="\#(id)" role="img" aria-label="\#(escape(title))" viewBox="0 0 \#(width) \#(height)" width="\#(width)" height="\#(height)" xmlns="http://www.w3.org/2000/svg">"#
            + body.joined() + "</svg>"
    }

    static func tierChart(_ months: [MarketingReportData.TierMonth]) -> String {
        let width = 720.0, height = 260.0, left = 40.0, bottom = 40.0, top = 10.0
        let maxTotal = max(1, months.map { $0.counts.values.reduce(0, +) }.max() ?? 1)
        let slot = (width - left - 10) / Double(max(1, months.count))
        var body: [String] = []
        for (index, month) in months.enumerated() {
            var y = height - bottom
            for tier in Tier.allCases {
                let count = month.counts[tier] ?? 0
                guard count > 0 else { continue }
                let h = Double(count) / Double(maxTotal) * (height - bottom - top)
                y -= h
                body.append(bar(x: left + Double(index) * slot + 4, y: y, width: slot - 8, height: h, fill: tierColours[tier] ?? "#999",
                                label: "\(month.month) \(tier.rawValue)", value: String(count)))
            }
            body.append(text(String(month.month.suffix(5)), x: left + Double(index) * slot + slot / 2, y: height - bottom + 14, anchor: "middle", size: 10))
        }
        body.append(text(String(maxTotal), x: left - 4, y: top + 10, anchor: "end", size: 10))
        body.append(text("0", x: left - 4, y: height - bottom, anchor: "end", size: 10))
        for (index, tier) in Tier.allCases.enumerated() {
            let x = left + Double(index) * 110
            body.append(bar(x: x, y: height - 16, width: 10, height: 10, fill: tierColours[tier] ?? "#999", label: tier.rawValue, value: "legend"))
            body.append(text(tier.rawValue, x: x + 14, y: height - 7))
        }
        return svg(id: "tier-mix", width: Int(width), height: Int(height), title: "Tier mix by month", body)
    }

    static func heatmap(_ cohorts: [RetentionMetrics.Cohort]) -> String {
        let cell = 34.0, left = 70.0, top = 24.0
        let columns = max(1, cohorts.map(\.retained.count).max() ?? 1)
        var body: [String] = []
        for k in 0..<columns { body.append(text("M\(k)", x: left + Double(k) * cell + cell / 2, y: top - 8, anchor: "middle", size: 10)) }
        for (row, cohort) in cohorts.enumerated() {
            let y = top + Double(row) * cell
            body.append(text("\(cohort.month) (\(cohort.size))", x: left - 4, y: y + cell / 2 + 4, anchor: "end", size: 10))
            for (k, share) in cohort.retained.enumerated() {
                let lightness = Int(95 - share * 60)
                body.append(bar(x: left + Double(k) * cell, y: y, width: cell - 2, height: cell - 2, fill: "hsl(210,70%,\(lightness)%)",
                                label: "cohort \(cohort.month), month \(k)", value: String(format: "%.0f%%", share * 100)))
                body.append(text(String(format: "%.0f", share * 100), x: left + Double(k) * cell + cell / 2 - 1, y: y + cell / 2 + 3, anchor: "middle", size: 9))
            }
        }
        let width = Int(left + Double(columns) * cell + 10)
        let height = Int(top + Double(max(1, cohorts.count)) * cell + 6)
        return svg(id: "cohort-heatmap", width: width, height: height, title: "Monthly cohort retention", body)
    }

    static func horizontalBars(id: String, title: String, _ rows: [(label: String, value: Int, colour: String)]) -> String {
        let width = 560.0, rowHeight = 24.0, left = 150.0
        let maxValue = max(1, rows.map(\.value).max() ?? 1)
        var body: [String] = []
        for (index, row) in rows.enumerated() {
            let y = Double(index) * rowHeight + 4
            let w = Double(row.value) / Double(maxValue) * (width - left - 60)
            body.append(text(row.label, x: left - 6, y: y + 15, anchor: "end"))
            body.append(bar(x: left, y: y, width: w, height: rowHeight - 6, fill: row.colour, label: row.label, value: String(row.value)))
            body.append(text(String(row.value), x: left + w + 4, y: y + 15))
        }
        return svg(id: id, width: Int(width), height: Int(Double(max(1, rows.count)) * rowHeight + 8), title: title, body)
    }

    static func campaignChart(_ campaigns: [CampaignReport]) -> String {
        let rows = campaigns.map { (label: $0.campaignId, value: Int($0.points), colour: "#d6a419") }
        return horizontalBars(id: "campaign-cost", title: "Campaign points awarded", rows)
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        "<table><thead><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>"
            + rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }.joined() + "</tbody></table>"
    }

    static func optional(_ value: Double?, _ format: String = "%.3f") -> String { value.map { String(format: format, $0) } ?? "–" }

    public static func render(_ data: MarketingReportData) -> String {
        let charts = [
            tierChart(data.tierMix), heatmap(data.cohorts),
            horizontalBars(id: "lifecycle-stages", title: "Lifecycle stages", stageOrder.map { ($0, data.stages[$0] ?? 0, "#6c8ebf") }),
            campaignChart(data.campaigns),
            horizontalBars(id: "churn-risk", title: "Churn-risk score distribution", data.churnDeciles.enumerated().map { index, count in
                (index == 9 ? "90–100" : "\(index * 10)–\(index * 10 + 9)", count, index >= 7 ? "#c0392b" : index >= 4 ? "#e67e22" : "#27ae60")
            }),
        ]
        let campaignRows = data.campaigns.map { c in
            [c.campaignId, c.name, c.state, c.award, "\(c.points) / \(c.budget)", String(c.clientsReached),
             "\(c.treatment.clients) / \(c.holdout.clients)", optional(c.uplift.activitiesPerClient), c.uplift.tradedPerClient ?? "–",
             c.uplift.purchasedPerClient ?? "–", optional(c.uplift.promotedPurchasesPerClient)]
        }
        let serviceRows = data.service.rows.map { row in
            [row.group, String(row.interactions), String(row.complaints), optional(row.complaintsPer1000, "%.1f"),
             String(row.complainingClients), optional(row.churnedShare.map { $0 * 100 }, "%.1f%%")]
        }
        let bands = ChurnBand.allCases.map { "\($0.rawValue) \(data.churnBands[$0.rawValue] ?? 0)" }.joined(separator: ", ")
        let script = """
            (function () {
              var charts = document.querySelectorAll('svg.chart');
              var labelled = 0;
              for (var i = 0; i < charts.length; i++) {
                var marks = charts[i].querySelectorAll('[data-value]');
                for (var j = 0; j < marks.length; j++) {
                  var title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
                  title.textContent = marks[j].getAttribute('data-label') + ': ' + marks[j].getAttribute('data-value');
                  marks[j].appendChild(title);
                  labelled++;
                }
              }
              var marker = document.createElement('p');
              marker.id = 'report-ready';
              marker.setAttribute('data-charts', String(charts.length));
              marker.setAttribute('data-marks', String(labelled));
              marker.textContent = charts.length + ' charts drawn';
              document.body.appendChild(marker);
            })();
            """
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>ClientLedger marketing report \(escape(data.asOf.isoDate))</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 980px; }
            h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }
            table { border-collapse: collapse; font-size: 0.9em; } th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
            th:first-child, td:first-child { text-align: left; } .note { color: #666; font-size: 0.85em; }
            </style></head><body>
            <h1>Marketing report as of \(escape(data.asOf.isoDate))</h1>
            <p class="note">\(data.clients) clients; rules \(escape(data.rulesVersion)). Computed from the ledger's log and projections; this page needs no network.</p>
            <h2 id="tiers">Tier mix by month end</h2>\(charts[0])
            <h2 id="cohorts">Monthly cohort retention (share of each cohort active in month k)</h2>\(charts[1])
            <h2 id="stages">Lifecycle stages</h2>\(charts[2])
            <h2 id="campaigns">Campaigns: cost and uplift against the holdout</h2>\(charts[3])
            \(table(["campaign", "name", "state", "award", "points / budget", "clients reached", "treatment / holdout", "Δ activities per client", "Δ traded per client", "Δ purchased per client", "Δ promoted purchases per client"], campaignRows))
            <h2 id="churn">Churn-risk distribution</h2><p>Bands: \(escape(bands))</p>\(charts[4])
            <h2 id="service">Service quality by channel (\(escape(data.service.from)) to \(escape(data.service.asOf)))</h2>
            \(table(["channel", "interactions", "complaints", "per 1,000", "complaining clients", "churned after a complaint"], serviceRows))
            <script>
            \(script)
            </script>
            </body></html>
            """
    }
}
