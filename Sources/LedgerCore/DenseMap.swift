/// Values by integer key, for keys handed out densely from 1 (a store's stream and event type
/// ids): an array for keys from 0 to 2^26, a dictionary for any other. A replay or an audit
/// looks a key up for every event; an array index costs a fraction of a hash lookup in a
/// table of a million streams. Inlinable, so that each module that uses it gets code
/// specialized for its values (unspecialized, every lookup asked the runtime for type
/// metadata: 4% of a rebuild's samples).
public struct DenseMap<Value> {
    @usableFromInline static var denseLimit: Int64 { 1 << 26 }
    @usableFromInline var dense: [Value?] = []
    @usableFromInline var others: [Int64: Value] = [:]

    @inlinable public init() {}

    @inlinable public subscript(key: Int64) -> Value? {
        get {
            guard key >= 0, key < Self.denseLimit else { return others[key] }
            return key < dense.count ? dense[Int(key)] : nil
        }
        set {
            guard key >= 0, key < Self.denseLimit else {
                others[key] = newValue
                return
            }
            if key >= dense.count {
                guard newValue != nil else { return }
                // Grow by at least half, so that keys met in rising order do not copy the
                // array each time.
                let count = max(Int(key) + 1, dense.count + dense.count / 2)
                dense.append(contentsOf: repeatElement(nil, count: count - dense.count))
            }
            dense[Int(key)] = newValue
        }
    }
}
