import ArgumentParser
import Foundation
import LedgerDomain
import LedgerStore

extension ClientLedger {
    struct Seed: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generate realistic synthetic data (not yet).")
        func run() throws {}
    }

    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the demo (not yet).")
        func run() throws {}
    }
}
