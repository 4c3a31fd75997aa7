import AsyncHTTPClient
import Foundation
import NIOCore

/// Reads a running daemon's admin endpoint: what `pspf status` uses.
///
/// ```swift
/// let client = AdminClient(baseURL: "http://127.0.0.1:9464", token: ProcessInfo.processInfo.environment["PSPF_ADMIN_TOKEN"])
/// let status = try await client.status()
/// print(StatusReport.render(previous: nil, current: status))
/// ```
public struct AdminClient: Sendable {
    /// What went wrong talking to the admin endpoint, in words for an operator.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public var baseURL: String
    /// Sent as `Authorization: Bearer …`; never part of an error message.
    private var token: String?
    public var timeout: Duration

    public init(baseURL: String, token: String? = nil, timeout: Duration = .seconds(5)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.timeout = timeout
    }

    /// `GET /status`, decoded.
    public func status() async throws -> DaemonStatus {
        let body = try await get("/status")
        do {
            return try JSONDecoder().decode(DaemonStatus.self, from: Data(body))
        } catch {
            throw Failure(description: "\(baseURL)/status: the answer is not a PSPF status (\(error))")
        }
    }

    /// The body of a successful `GET` of `path`.
    public func get(_ path: String) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: baseURL + path)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .nanoseconds(timeout.wholeNanoseconds))
            body = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw Failure(description: "cannot reach \(baseURL)\(path): \(error)")
        }
        switch response.status.code {
        case 200: return Array(buffer: body)
        case 401:
            throw Failure(
                description: token == nil
                    ? "\(baseURL)\(path): 401 unauthorized; the daemon requires a token (--token-file or PSPF_ADMIN_TOKEN)"
                    : "\(baseURL)\(path): 401 unauthorized; the token was refused")
        default:
            throw Failure(description: "\(baseURL)\(path): HTTP \(response.status.code) \(String(buffer: body))")
        }
    }
}

extension Duration {
    var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
