import Hummingbird
import LedgerApplication
import LedgerCore
import LedgerDomain
import LedgerStorage

/// A refused request as RFC 9457 problem details (`application/problem+json`): a status,
/// a title, a detail a person can act on, and for bad input the line (or array index) and
/// the field.
public struct Problem: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var title: String
    public var detail: String
    public var line: Int?
    public var index: Int?
    public var field: String?
    /// Seconds after which a retry may succeed (503).
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ title: String, detail: String, line: Int? = nil, field: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.title = title
        self.detail = detail
        self.line = line
        self.field = field
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status.code) \(title): \(detail)" }

    /// The problem type, a URN naming the kind (the repository's docs/service.md lists them).
    var type: String {
        "urn:clientledger:problem:" + title.lowercased().split(separator: " ").joined(separator: "-")
    }

    /// The response: problem+json, and Retry-After when a retry is expected to help.
    func response() -> Response {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.key("type"); w.string(type)
        w.key("title"); w.string(title)
        w.key("status"); w.int(Int64(status.code))
        w.key("detail"); w.string(detail)
        if let line { w.key("line"); w.int(Int64(line)) }
        if let index { w.key("index"); w.int(Int64(index)) }
        if let field { w.key("field"); w.string(field) }
        w.endObject()
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: w.text + "\n")))
    }

    static func unauthorized(_ detail: String) -> Problem { Problem(.unauthorized, "Unauthorized", detail: detail) }
    static func forbidden(_ detail: String) -> Problem { Problem(.forbidden, "Forbidden", detail: detail) }
    static func notFound(_ detail: String) -> Problem { Problem(.notFound, "Not found", detail: detail) }
    static func badRequest(_ detail: String, field: String? = nil) -> Problem { Problem(.badRequest, "Bad request", detail: detail, field: field) }
    static func busy(_ detail: String) -> Problem { Problem(.serviceUnavailable, "Busy", detail: detail, retryAfter: 1) }
    static func tooLarge(_ limit: Int) -> Problem {
        Problem(.contentTooLarge, "Body too large", detail: "the request body is larger than the limit of \(limit) bytes; nothing was written (send fewer events per request)")
    }

    /// The problem for an error of the application layer, by its kind (`Failures.classify`):
    /// the same decision the CLI makes for its exit codes. `parsing` says the input could not
    /// be read at all (400) rather than read and refused by the ledger's checks (422).
    static func from(_ error: any Error, parsing: Bool = false) -> Problem {
        if let problem = error as? Problem { return problem }
        let (kind, message) = Failures.classify(error)
        let input = error as? InputError
        switch kind {
        case .badInput:
            var problem = parsing
                ? Problem(.badRequest, "Bad request", detail: message)
                : Problem(.unprocessableContent, "Event refused", detail: message)
            problem.line = input?.line
            problem.field = input?.field
            if let fieldError = error as? FieldError { problem.field = fieldError.field }
            return problem
        case .temporary:
            if case .busy = error as? StorageError {
                return Problem(.serviceUnavailable, "Busy", detail: message, retryAfter: 1)
            }
            if case .connectionLost = error as? StorageError {
                return Problem(.serviceUnavailable, "Database unavailable", detail: message, retryAfter: 5)
            }
            return Problem(.conflict, "Conflict", detail: message, line: input?.line, field: input?.field ?? "expectedVersion")
        case .missing:
            return Problem(.serviceUnavailable, "Not ready", detail: message, retryAfter: 5)
        case .cannotWrite:
            return Problem(.serviceUnavailable, "Cannot write", detail: message)
        case .checkFailed:
            return Problem(.conflict, "Check failed", detail: message)
        case .outputFailed:
            return Problem(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), "Storage full", detail: message)
        case .internalFailure:
            return Problem(.internalServerError, "Internal error", detail: message)
        }
    }
}
