import ArgumentParser

/// `clientledger`: the admin CLI of the ledger, grouped by who uses it.
@main
struct ClientLedger: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clientledger",
        abstract: "An event-sourced client-lifecycle and loyalty ledger for a securities brokerage.",
        discussion: """
            Exit codes: 0 ok; 1 a check found a problem; 64 usage; 65 bad input data;
            66 missing file or database; 75 temporary (conflict or busy database: retry).
            """,
        subcommands: [
            Init.self, Import.self, Append.self, Events.self, History.self, ClientCommand.self, Audit.self,
            RulesCommand.self, Tiers.self, Points.self, Projections.self, Membership.self, Eligibility.self,
            Metrics.self, Seed.self, Demo.self,
        ]
    )
}
