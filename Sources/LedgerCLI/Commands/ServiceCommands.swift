import ArgumentParser
import Foundation
import LedgerApplication
import LedgerCore
import LedgerDomain
import LedgerStorage

// MARK: - serve

extension ClientLedger {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the ledger as an HTTP service (the clientledger-server program beside this one).",
            discussion: """
                The service is its own program, so that the CLI builds without the HTTP stack:
                `swift build --product clientledger-server` builds it next to clientledger.
                Requests carry a bearer token made by `clientledger tokens create --role R`.
                SIGTERM or SIGINT stops it gracefully (docs/service.md).
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "Address to listen on, HOST:PORT (default 127.0.0.1:8080).")
        var listen: String = "127.0.0.1:8080"

        @Option(parsing: .unconditional, help: "Largest request body accepted, in bytes (default 16 MiB; larger ones are refused with 413).")
        var maxBodyBytes: Int?

        @Option(help: "Log level: trace, debug, info, notice, warning, error or critical (default info).")
        var logLevel: String?

        func run() throws {
            var arguments = ["--db", global.databasePath, "--listen", listen]
            if let maxBodyBytes { arguments += ["--max-body-bytes", String(maxBodyBytes)] }
            if let logLevel { arguments += ["--log-level", logLevel] }
            let server = ServerProgram.path()
            guard FileManager.default.isExecutableFile(atPath: server) else {
                printError("error: the service program is not built: \(server) is missing; build it with `swift build --product clientledger-server` (or `swift build -c release --product clientledger-server`) and run serve again")
                throw ExitCode(66)
            }
            flushStandardOutput()
            let argv = ([server] + arguments).map { strdup($0) } + [nil]
            execv(server, argv)
            printError("error: cannot start \(server): \(String(cString: strerror(errno)))")
            throw ExitCode(70)
        }
    }
}

/// Where the service program lives: beside this executable.
enum ServerProgram {
    static func path() -> String { BackendProgram.sibling("clientledger-server") }
}

// MARK: - tokens

extension ClientLedger {
    struct Tokens: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Admins: bearer tokens of the HTTP service (stored only as SHA-256 hashes).",
            subcommands: [Create.self, List.self, Revoke.self])
    }
}

extension ClientLedger.Tokens {
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a token with one role; its text is printed once and cannot be shown again.",
            discussion: "Roles: ingest, read, compliance, marketing, admin (docs/service.md lists what each may do).")

        @OptionGroup var global: GlobalOptions

        @Option(help: "The token's role: ingest, read, compliance, marketing or admin.")
        var role: String

        @Option(help: "A note saying who or what uses the token.")
        var label: String?

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        func validate() throws {
            guard AccessRole(rawValue: role) != nil else {
                throw ValidationError("--role: unknown role \"\(role)\" (roles: \(AccessRole.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }

        func run() throws {
            try runMapped {
                guard let role = AccessRole(rawValue: role) else { return }
                let store = try AccessTokens.store(global.databasePath, readOnly: false)
                let (record, secret) = try AccessTokens.create(in: store, role: role, label: label, at: .now())
                if format == .json {
                    print(try jsonText(CreatedToken(token: secret, id: record.id, role: record.role, label: record.label, createdAt: record.createdAt)))
                } else {
                    print(secret)
                    printError("token \(record.id) (role \(record.role)) created; the text above is shown only now")
                }
            }
        }

        struct CreatedToken: Encodable {
            var token, id, role: String
            @NullEncoded var label: String?
            var createdAt: String
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tokens (ids, roles, labels, revocations; never their text).")

        @OptionGroup var global: GlobalOptions

        @Option(help: "Output format: text or json.")
        var format: OutputFormat = .text

        func run() throws {
            try runMapped {
                let tokens = try AccessTokens.store(global.databasePath, readOnly: true).list()
                if format == .json {
                    print(try jsonText(tokens.map(AccessTokenView.init)))
                    return
                }
                print(table(["id", "role", "label", "created", "revoked"], tokens.map {
                    [$0.id, $0.role, $0.label ?? "-", $0.createdAt, $0.revokedAt ?? "-"]
                }))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token by its id; a running service refuses it within a second.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The token's id (from tokens list).")
        var id: String

        func run() throws {
            try runMapped {
                let store = try AccessTokens.store(global.databasePath, readOnly: false)
                guard try store.revoke(id: id, at: Timestamp.now().iso8601) else {
                    let known = try store.list().first { $0.id == id }
                    throw InputError(line: nil, field: "id", problem: known == nil ? "no token \(id)" : "token \(id) was already revoked")
                }
                print("revoked token \(id)")
            }
        }
    }
}
