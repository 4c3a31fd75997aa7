import Hummingbird

/// Requires `Authorization: Bearer <token>` on every route except the open ones (`/healthz`,
/// so a supervisor can probe liveness without a secret). Answers 401 with a
/// `WWW-Authenticate` challenge otherwise. The comparison takes the same time wherever the
/// first differing byte is, and neither the expected nor the presented token is ever logged.
///
/// ```swift
/// router.add(middleware: BearerTokenMiddleware<BasicRequestContext>(token: "s3cret", open: ["/healthz"]))
/// ```
public struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    private let token: [UInt8]
    private let open: Set<String>

    public init(token: String, open: Set<String> = ["/healthz"]) {
        self.token = Array(token.utf8)
        self.open = open
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if open.contains(request.uri.path) { return try await next(request, context) }
        // HTTPFields iterates HTTPField values; matching on the canonical (lower-case) name
        // avoids naming HTTPTypes directly.
        let header = request.headers.first { $0.name.canonicalName == "authorization" }?.value
        guard let presented = header.flatMap(Self.bearerCredentials), Self.constantTimeEquals(presented, token) else {
            return Response(
                status: .unauthorized, headers: [.wwwAuthenticate: #"Bearer realm="pspf""#],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "unauthorized\n")))
        }
        return try await next(request, context)
    }

    /// The credentials of `Bearer <credentials>` (scheme case-insensitive), or nil.
    static func bearerCredentials(_ header: String) -> [UInt8]? {
        let bytes = Array(header.utf8)
        let scheme = Array("bearer ".utf8)
        guard bytes.count > scheme.count else { return nil }
        for (byte, expected) in zip(bytes, scheme) where byte | 0x20 != expected {
            return nil
        }
        return Array(bytes[scheme.count...])
    }

    /// Equal without an early exit: the time depends only on the lengths, not on where the
    /// first difference is, so a caller cannot guess the token byte by byte.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt64(a.count ^ b.count)
        let length = max(a.count, b.count)
        for i in 0..<length {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= UInt64(x ^ y)
        }
        return difference == 0 && !b.isEmpty
    }
}
