import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An HTTP/1.1 server on a free 127.0.0.1 port for sink tests: it records every request and
/// answers with a scripted response (a status, optional `Retry-After`, a body), so a test can
/// play "503 three times, then 200" or "400 with a reason".
///
/// ```swift
/// let server = try await HTTPTestServer.start { request, index in
///     index < 3 ? .init(status: 503) : .init(status: 200)
/// }
/// defer { Task { try await server.stop() } }
/// // POST to "http://127.0.0.1:\(server.port)/ingest" …
/// let requests = server.requests
/// ```
public final class HTTPTestServer: Sendable {
    public struct Request: Sendable, Hashable {
        public var method: String
        public var uri: String
        public var headers: [String: String]
        public var body: [UInt8]
        public var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: String
        public init(status: Int, headers: [(String, String)] = [], body: String = "") {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    /// Decides the response to the `index`-th request (0-based).
    public typealias Responder = @Sendable (Request, Int) -> Response

    public let port: Int
    private let channel: any Channel
    private let state: RequestLog

    private init(port: Int, channel: any Channel, state: RequestLog) {
        self.port = port
        self.channel = channel
        self.state = state
    }

    /// Every request received so far, in arrival order.
    public var requests: [Request] { state.requests.withLock { $0 } }

    /// Starts listening on 127.0.0.1. `port` 0 picks a free port; a fixed port lets a test
    /// name the endpoint in a configuration before the server is up (a sink that starts while
    /// its destination is down).
    public static func start(port: Int = 0, responder: @escaping Responder) async throws -> HTTPTestServer {
        let state = RequestLog()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(state: state, responder: responder))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        return HTTPTestServer(port: channel.localAddress?.port ?? 0, channel: channel, state: state)
    }

    public func stop() async throws {
        try await channel.close()
    }

    private final class RequestLog: Sendable {
        let requests = Mutex<[Request]>([])
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let state: RequestLog
        let responder: Responder
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(state: RequestLog, responder: @escaping Responder) {
            self.state = state
            self.responder = responder
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head else { return }
                var headers: [String: String] = [:]
                for (name, value) in head.headers { headers[name.lowercased()] = value }
                let request = Request(method: head.method.rawValue, uri: head.uri, headers: headers, body: body)
                let index = state.requests.withLock { requests in
                    requests.append(request)
                    return requests.count - 1
                }
                let response = responder(request, index)
                var responseHeaders = HTTPHeaders(response.headers)
                responseHeaders.add(name: "Content-Length", value: String(response.body.utf8.count))
                let responseHead = HTTPResponseHead(
                    version: head.version, status: HTTPResponseStatus(statusCode: response.status), headers: responseHeaders)
                context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: response.body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
