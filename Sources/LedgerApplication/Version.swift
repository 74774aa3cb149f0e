/// The version of ClientLedger, defined once: `clientledger --version` prints it, and a
/// future server reports the same.
public enum ClientLedgerVersion {
    public static let current = "0.3.0"
}
