// The release of commerce-etl this is: `commerce-etl --version`, and in each run's manifest.
public enum CommerceETLVersion {
    public static let current = "0.14.0"
}
