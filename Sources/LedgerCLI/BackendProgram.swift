import ArgumentParser
import Foundation
import LedgerApplication

/// Hands a command over to the program that links the backend of its ledger.
///
/// `clientledger` links only SQLite, so that its first build stays small; the PostgreSQL
/// backend (postgres-nio and SwiftNIO) is linked into `clientledger-postgres`, built beside it.
/// A command whose `--db`, `--from` or `--to` (or `$CLIENTLEDGER_DB`) names a PostgreSQL
/// ledger is run by that program, with the same arguments.
enum BackendProgram {
    static let postgresProgram = "clientledger-postgres"

    /// The ledger locations named on the command line and in the environment.
    static func locations(in arguments: [String]) -> [String] {
        var found: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { break }
            for option in ["--db", "--from", "--to"] {
                if argument == option, index + 1 < arguments.count {
                    found.append(arguments[index + 1])
                } else if argument.hasPrefix(option + "=") {
                    found.append(String(argument.dropFirst(option.count + 1)))
                }
            }
            index += 1
        }
        if !arguments.contains(where: { $0 == "--db" || $0.hasPrefix("--db=") }),
            let environment = ProcessInfo.processInfo.environment["CLIENTLEDGER_DB"]
        {
            found.append(environment)
        }
        return found
    }

    static func handOverIfNeeded(_ arguments: [String]) throws {
        guard locations(in: arguments).contains(where: { LedgerStores.isPostgresURL($0) && !LedgerStores.accepts($0) }) else { return }
        let program = sibling(postgresProgram)
        guard FileManager.default.isExecutableFile(atPath: program) else {
            FileHandle.standardError.write(Data("""
                error: PostgreSQL ledgers are served by \(postgresProgram), which is not built: \(program) is missing; \
                build it with `swift build --product \(postgresProgram)` (or with -c release) and run the command again

                """.utf8))
            throw ExitCode(66)
        }
        flushStandardOutput()
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        execv(program, argv)
        FileHandle.standardError.write(Data("error: cannot start \(program): \(String(cString: strerror(errno)))\n".utf8))
        throw ExitCode(70)
    }

    /// A program beside this executable.
    static func sibling(_ name: String) -> String {
        let me = Bundle.main.executableURL?.resolvingSymlinksInPath()
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent(name).path
    }
}
