import CKernels

/// Which int8 kernel variant runs (chosen from the CPU at run time, or forced with ZOO_KERNEL).
public enum KernelInfo {
    public static var variant: String { String(cString: zoo_kernel_name()) }
    /// Why ZOO_KERNEL was not honoured, or "".
    public static var note: String { String(cString: zoo_kernel_note()) }
    public static var compiledVariants: String { String(cString: zoo_kernel_variants()) }
}
