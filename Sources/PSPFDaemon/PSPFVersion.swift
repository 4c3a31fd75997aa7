/// The version `pspf --version`, `/status` and the logs report.
public enum PSPFVersion {
    public static let current = "0.5.0"
}
