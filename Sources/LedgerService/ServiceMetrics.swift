import Foundation
import Hummingbird
import Logging
import Prometheus

/// The service's Prometheus metrics, in a registry of its own (`GET /metrics`).
final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let eventsAppended: Counter
    let groupCommits: Counter
    let projectionLag: Gauge
    let latency: DurationHistogram

    init() {
        eventsAppended = registry.makeCounter(name: "clientledger_events_appended_total", help: "Events (facts and decisions) appended by this service")
        groupCommits = registry.makeCounter(name: "clientledger_group_commits_total", help: "Write transactions committed (each holds one or more requests)")
        projectionLag = registry.makeGauge(name: "clientledger_projection_lag_events", help: "Events the projections are behind the log (read at each scrape)")
        latency = registry.makeDurationHistogram(
            name: "clientledger_request_duration_seconds",
            buckets: [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(20), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)],
            help: "Request latency")
    }

    func request(route: String, method: String, status: Int) {
        registry.makeCounter(
            name: "clientledger_requests_total", labels: [("route", route), ("method", method), ("status", String(status))],
            help: "Requests by route, method and status"
        ).increment()
    }
}

/// One log line a request (method, path, status, duration, request id) and its metrics.
struct RequestLog<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let id = context.id
        do {
            let response = try await next(request, context)
            finish(request, context, status: response.status.code, started: started, id: id)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            finish(request, context, status: status, started: started, id: id)
            throw error
        }
    }

    private func finish(_ request: Request, _ context: Context, status: Int, started: ContinuousClock.Instant, id: String) {
        let duration = ContinuousClock.now - started
        metrics.latency.record(duration)
        metrics.request(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status)
        let ms = Double(duration.components.attoseconds / 1_000_000_000_000) / 1000 + Double(duration.components.seconds) * 1000
        logger.info("\(request.method.rawValue) \(request.uri.path) \(status) \(String(format: "%.1f", ms))ms id=\(id)")
    }
}
