import ArgumentParser
import Foundation
import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerStorage

extension ClientLedger {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compliance: prove the log was never altered, and give regulators proofs they can check offline.",
            subcommands: [Verify.self, Checkpoint.self, PublicKey.self, Export.self, VerifyExport.self, Suitability.self])
    }
}

extension ClientLedger.Audit {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the hash chain over the whole log and check the append-only triggers.",
            discussion: """
                Exit 0 when intact; exit 1 naming the first bad position or the missing trigger.
                With --checkpoint FILE, also prove with a Merkle consistency proof that the log only grew since
                that signed checkpoint (exit 1 when it was rewritten or shortened). With --client CLIENT, check
                only that client's events: each hash recomputed and each inclusion proof verified.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "A checkpoint file written by `audit checkpoint`: prove the log only grew since.")
        var checkpoint: String?

        @Option(help: "Check only this client's events and their inclusion proofs.")
        var client: String?

        @Option(name: .customLong("public-key"), help: "The key to check the checkpoint's signature with (64 hex digits or a file); default: the ledger's own.")
        var publicKey: String?

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        func run() throws {
            if let client {
                try verifyClient(client)
                return
            }
            var intact = true
            try runMapped {
                let log = try global.openLog(readOnly: true)
                if let checkpoint {
                    let file = try LedgerApplication.Checkpoint.read(file: checkpoint)
                    let key = try LedgerProofs.verificationKey(given: publicKey, databasePath: global.databasePath)
                    let report = try log.verifyChain()
                    let consistency = try LedgerProofs.consistency(of: file, store: log, publicKey: key)
                    intact = report.isIntact && consistency.consistent
                    if format == .json {
                        print(try jsonText(CheckpointVerifySummary(intact: intact, chain: VerifySummary(report), checkpoint: consistency)))
                        return
                    }
                    printChain(report)
                    if let problem = consistency.problem {
                        print("NOT CONSISTENT with the checkpoint of \(consistency.checkpointTime) (tree size \(consistency.checkpointTreeSize)): \(problem)")
                    } else {
                        print("consistent with the checkpoint of \(consistency.checkpointTime): the log only grew, tree size \(consistency.checkpointTreeSize) → \(consistency.treeSize), root \(consistency.root)")
                    }
                    return
                }
                let showProgress = stderrIsTerminal
                let report = try log.verifyChain { checked in
                    if showProgress { printError("  \(checked) events checked…") }
                }
                intact = report.isIntact
                if format == .json {
                    print(try jsonText(VerifySummary(report)))
                    return
                }
                printChain(report)
            }
            if !intact { throw ExitCode(1) }
        }

        private func printChain(_ report: ChainReport) {
            if let position = report.firstBadPosition {
                print("BROKEN at position \(position): \(report.problem ?? "")")
            } else {
                print("chain intact: \(report.eventsChecked) events, head \(report.headHash)")
            }
            for name in report.missingTriggers {
                print("BROKEN: append-only trigger \(name) is missing or altered")
            }
        }

        private func verifyClient(_ client: String) throws {
            var intact = true
            try runMapped {
                guard checkpoint == nil else {
                    throw ValidationError("--client and --checkpoint are separate checks: run them one at a time")
                }
                let log = try global.openLog(readOnly: true)
                let report = try LedgerProofs.checkClient(client, store: log)
                intact = report.intact
                if format == .json {
                    print(try jsonText(report))
                } else if let position = report.firstBadPosition {
                    print("BROKEN at position \(position) (client \(client)): \(report.problem ?? "")")
                } else {
                    print("client \(client) intact: \(report.eventsChecked) events, each hash recomputed and each in the tree of \(report.treeSize) events, root \(report.root)")
                }
            }
            if !intact { throw ExitCode(1) }
        }
    }
}

/// `audit verify --checkpoint --format json`.
struct CheckpointVerifySummary: Encodable {
    var intact: Bool
    var chain: VerifySummary
    var checkpoint: ConsistencyReport
}

extension ClientLedger.Audit {
    struct Checkpoint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a checkpoint of the log: its Merkle tree size and root, and the time.",
            discussion: """
                Writes one JSON line (schemas/merkle-tree.md) to --output or standard output. Keep it outside the
                firm; `audit verify --checkpoint FILE` later proves the log only grew since. A ledger without a
                signing key gets one now (beside the database, mode 0600). Exit 1, signing nothing, when the
                hash chain does not verify.
                """)

        @OptionGroup var global: GlobalOptions
        @Option(help: "Write the checkpoint to this file instead of standard output.") var output: String?

        func run() throws {
            try runMapped {
                let log = try global.openLog(readOnly: true)
                let (checkpoint, created) = try LedgerProofs.checkpoint(of: log, databasePath: global.databasePath, at: .now())
                if created { noteKeyCreated() }
                let sink = try OutputSink(path: output)
                try sink.write(checkpoint.jsonLine)
                try sink.close()
                if let output {
                    printError("checkpoint of \(checkpoint.treeSize) events, root \(checkpoint.root.hexString), \(checkpoint.time.iso8601), key \(LedgerSignature.fingerprint(checkpoint.publicKey)): \(output)")
                }
            }
        }

        private func noteKeyCreated() {
            printError("note: the ledger had no signing key; created \(SigningKey.path(forDatabase: global.databasePath)) (mode 0600). Publish its public key: clientledger audit public-key")
        }
    }
}

extension ClientLedger.Audit {
    struct PublicKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "public-key",
            abstract: "Print the ledger's Ed25519 public key (64 hex digits), to give to whoever checks its signatures.",
            discussion: "Exit 66 when the ledger has no signing key yet (`init` or `audit checkpoint` creates it).")

        @OptionGroup var global: GlobalOptions
        @Option(help: "Write the key to this file instead of standard output.") var output: String?
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                guard let key = try SigningKey.load(forDatabase: global.databasePath) else {
                    _ = try global.openLog(readOnly: true)
                    throw ComplianceError(
                        .missing,
                        "the ledger has no signing key yet (\(SigningKey.path(forDatabase: global.databasePath))); `clientledger audit checkpoint` creates it")
                }
                let sink = try OutputSink(path: output)
                if format == .json {
                    try sink.write(try jsonText(PublicKeyView(
                        publicKey: key.publicKey.hexString, fingerprint: LedgerSignature.fingerprint(key.publicKey), keyFile: key.path)))
                } else {
                    try sink.write(key.publicKey.hexString)
                }
                try sink.close()
            }
        }
    }
}

struct PublicKeyView: Encodable {
    var publicKey: String
    var fingerprint: String
    var keyFile: String
}


extension ClientLedger.Audit {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export one client's events for a regulator as a bundle that can be checked offline.",
            discussion: """
                JSON Lines (schemas/export-bundle.md): a header, a signed checkpoint of the whole log, a signed
                statement of how many events the client's stream holds, then one line per event with its stored
                fields, the hash before it, its hash and its inclusion proof. `audit verify-export` and
                tools/verify_export.py check it without the database. A ledger without a signing key gets one
                now. Exit 1, writing nothing, when the hash chain does not verify.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "Client id.") var client: String
        @Option(help: "Write to this file instead of standard output.") var output: String?

        func run() throws {
            try runMapped {
                let log = try global.openLog(readOnly: true)
                let bundle = try ExportBundle(client: client, from: log, databasePath: global.databasePath, at: .now())
                if bundle.keyCreated {
                    printError("note: the ledger had no signing key; created \(SigningKey.path(forDatabase: global.databasePath)) (mode 0600). Publish its public key: clientledger audit public-key")
                }
                let sink = try OutputSink(path: output)
                for line in bundle.lines { try sink.write(line) }
                try sink.close()
                if let output {
                    printError("exported \(bundle.eventCount) events of client \(client) against the checkpoint of \(bundle.checkpoint.treeSize) events: \(output)")
                }
            }
        }
    }
}

extension ClientLedger.Audit {
    struct VerifyExport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-export",
            abstract: "Check an export bundle without the database: signatures, every event's hash and inclusion proof, completeness.",
            discussion: """
                Exit 0 when intact; exit 1 naming the first bad line. Without --public-key the signatures are
                checked with the key the bundle names, which proves the bundle is whole but not who signed it:
                give the ledger's published key to know that.
                """)

        @Argument(help: "The bundle (a file, or - for standard input).") var file: String
        @Option(name: .customLong("public-key"), help: "The ledger's public key: 64 hex digits, or a file holding them.")
        var publicKey: String?
        @Option(help: "Output format: text or json.") var format: OutputFormat = .text

        func run() throws {
            var intact = true
            try runMapped {
                let pinned = try publicKey.map(SigningKey.publicKey(argument:))
                let bytes = try readInput(file)
                let report = BundleVerifier.verify(bytes, publicKey: pinned)
                intact = report.intact
                if format == .json {
                    print(try jsonText(report))
                    return
                }
                if let line = report.firstBadLine {
                    print("BROKEN at line \(line): \(report.problem ?? "")")
                    return
                }
                print("bundle intact: client \(report.client ?? ""), \(report.eventsChecked) events, each in the signed tree of \(report.treeSize ?? 0) events (checkpoint \(report.checkpointTime ?? ""), root \(report.root ?? ""))")
                if report.keyPinned {
                    print("signed by the given key \(report.keyFingerprint ?? "")")
                } else {
                    print("signed by key \(report.keyFingerprint ?? "") as named in the bundle; give --public-key to check it is the ledger's")
                }
            }
            if !intact { throw ExitCode(1) }
        }
    }
}
