/// A tensor shape, outermost dimension first (NumPy / PyTorch order, for every format).
public struct Shape: Equatable, Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }
    public init(arrayLiteral elements: Int...) { self.dims = elements }

    public var rank: Int { dims.count }

    /// The product of the dimensions with checked arithmetic (a scalar has one element).
    public func elementCount() throws -> Int {
        var count = 1
        for d in dims {
            if d < 0 { throw ZooError("negative dimension \(d) in shape \(self)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            if overflow { throw ZooError("element count of shape \(self) overflows") }
            count = product
        }
        return count
    }

    /// Element count for shapes already validated (never throws in practice; 0 on overflow).
    public var count: Int { (try? elementCount()) ?? 0 }

    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}
