import Foundation

/// What loading a configuration may read from the outside world: environment variables for
/// `${VAR}` interpolation, files for `*_file` secrets, the existence of the files it names, and
/// the host name (the default MQTT client id). Tests pass their own.
///
/// ```swift
/// let environment = ConfigEnvironment(variables: ["SITE": "north"], hostName: "gw-01")
/// let config = try ConfigLoader.load(file: "config/demo.yaml", environment: environment)
/// ```
public struct ConfigEnvironment: Sendable {
    /// Variables for `${VAR}` interpolation.
    public var variables: [String: String]
    /// The machine's host name; the default client id is `pspf-<hostName>`.
    public var hostName: String
    /// Reads a whole file (a secret, the configuration itself). Throws on failure.
    public var readFile: @Sendable (_ path: String) throws -> [UInt8]
    /// Whether a file or directory exists at `path`; `nil` skips existence checks of the
    /// certificate and key files the configuration names.
    public var fileExists: (@Sendable (_ path: String) -> Bool)?

    public init(
        variables: [String: String] = [:],
        hostName: String = "localhost",
        readFile: @escaping @Sendable (_ path: String) throws -> [UInt8] = ConfigEnvironment.readFromDisk,
        fileExists: (@Sendable (_ path: String) -> Bool)? = ConfigEnvironment.existsOnDisk
    ) {
        self.variables = variables
        self.hostName = hostName
        self.readFile = readFile
        self.fileExists = fileExists
    }

    /// This process: its environment variables, its host name and the real file system.
    public static var process: ConfigEnvironment {
        ConfigEnvironment(variables: ProcessInfo.processInfo.environment, hostName: localHostName())
    }

    /// `gethostname(2)`, without the DNS lookup `ProcessInfo.hostName` may do (an edge box's
    /// resolver may be down when the daemon starts).
    static func localHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    /// Reads a file from disk.
    public static let readFromDisk: @Sendable (String) throws -> [UInt8] = { path in
        let url = URL(fileURLWithPath: path)
        return [UInt8](try Data(contentsOf: url))
    }

    /// Whether a path exists on disk.
    public static let existsOnDisk: @Sendable (String) -> Bool = { path in
        FileManager.default.fileExists(atPath: path)
    }
}

extension Error {
    /// A short reason for a failed file read ("No such file or directory").
    var fileReadReason: String {
        let error = self as NSError
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
            let text = strerror(Int32(underlying.code)).map({ String(cString: $0) })
        {
            return text
        }
        if error.domain == NSCocoaErrorDomain {
            switch error.code {
            case NSFileReadNoSuchFileError: return "No such file or directory"
            case NSFileReadNoPermissionError: return "Permission denied"
            default: break
            }
        }
        return error.localizedDescription
    }
}
