import LedgerDomain
import LedgerProjections
import LedgerStorage

/// What kind of failure an error is, for every front end: the CLI maps kinds to exit codes,
/// a server maps them to HTTP statuses. No front end looks inside an error to decide.
public enum FailureKind: Sendable, Equatable {
    /// The input is wrong (a line, a field, a rules file): nothing was written.
    case badInput
    /// Try again: an expected-version conflict, or the database is busy.
    case temporary
    /// The ledger, a file or a projection is not there, or is not a ledger.
    case missing
    /// A check found a problem (a projection built with other rules).
    case checkFailed
    /// The database can only be read here.
    case cannotWrite
    /// Output could not be written (a full disk, a closed pipe).
    case outputFailed
    /// Anything else: a fault of the program or the machine.
    case internalFailure
}

public enum Failures {
    /// The kind of `error` and a message a person can act on.
    public static func classify(_ error: any Error) -> (FailureKind, String) {
        switch error {
        case let error as InputError:
            return (error.isConflict ? .temporary : .badInput, error.description)
        case let error as Ledger.PartialImportError:
            return (classify(error.underlying).0, error.description)
        case let error as StorageError:
            switch error {
            case .databaseMissing, .notALedger, .cannotOpen: return (.missing, error.description)
            case .schemaNewer, .appendOnlyGuardsMissing, .readOnly: return (.cannotWrite, error.description)
            case .conflict, .busy, .connectionLost: return (.temporary, error.description)
            case .eventIdReused: return (.badInput, error.description)
            case .full: return (.outputFailed, error.description)
            case .corrupt, .nestedWrite, .backend: return (.internalFailure, error.description)
            }
        case let error as RulesError:
            return (.badInput, "rules: \(error.description)")
        case let error as CopyError:
            return (.badInput, error.description)
        case let error as FieldError:
            return (.badInput, error.description)
        case let error as ProjectionError:
            if case .builtWithOtherRules = error { return (.checkFailed, error.description) }
            return (.missing, error.description)
        case let error as ReplayError:
            return (.internalFailure, "the log holds an event the projections cannot read: \(error)")
        case let error as OutputError:
            return (.outputFailed, error.description)
        case let error as InputFileError:
            return (.missing, error.description)
        case let error as ComplianceError:
            switch error.kind {
            case .badInput: return (.badInput, error.description)
            case .missing: return (.missing, error.description)
            case .cannotWrite: return (.cannotWrite, error.description)
            case .checkFailed: return (.checkFailed, error.description)
            }
        default:
            return (.internalFailure, String(describing: error))
        }
    }
}

extension FailureKind {
    /// The process exit code of the kind (sysexits, as every program of the ledger exits).
    public var exitCode: Int32 {
        switch self {
        case .badInput: return 65
        case .temporary: return 75
        case .missing, .cannotWrite: return 66
        case .checkFailed: return 1
        case .outputFailed: return 74
        case .internalFailure: return 70
        }
    }
}
