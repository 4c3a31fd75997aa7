import Foundation

/// Loads, interpolates and validates a configuration file, reporting every problem at once.
///
/// ```swift
/// do {
///     let config = try ConfigLoader.load(file: "/etc/pspf/pspf.yaml")
/// } catch {
///     print(error)   // one "file:line:column: error: path: message (hint: …)" per line
/// }
/// ```
public enum ConfigLoader {
    /// Reads and validates the file at `path`. Relative paths inside it are resolved against
    /// its directory.
    public static func load(file path: String, environment: ConfigEnvironment = .process) throws(ConfigErrors)
        -> PSPFConfiguration
    {
        let bytes: [UInt8]
        do {
            bytes = try environment.readFile(path)
        } catch {
            throw ConfigErrors([
                ConfigError(
                    code: .io, file: path, line: 0, column: 0, path: "",
                    message: "cannot read the configuration: \(error.fileReadReason)")
            ])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigErrors([
                ConfigError(
                    code: .io, file: path, line: 0, column: 0, path: "", message: "the configuration is not valid UTF-8"
                )
            ])
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try load(yaml: text, file: path, baseDirectory: directory, environment: environment)
    }

    /// Validates configuration text. `file` names it in errors; relative paths inside it are
    /// resolved against `baseDirectory` (the current directory when empty).
    public static func load(
        yaml text: String, file: String = "<config>", baseDirectory: String = "",
        environment: ConfigEnvironment = .process
    ) throws(ConfigErrors) -> PSPFConfiguration {
        let diagnostics = Diagnostics(file: file, source: SourceText(text))
        let reader = ConfigReader(diagnostics: diagnostics, environment: environment, baseDirectory: baseDirectory)
        guard let root = YAMLReader.read(text, variables: environment.variables, diagnostics: diagnostics),
            let config = ConfigDecoder(reader: reader).decode(root)
        else {
            throw diagnostics.collected()
        }
        ConfigValidator(config: config, diagnostics: diagnostics).validate()
        if diagnostics.hasErrors { throw diagnostics.collected() }
        return config
    }
}
