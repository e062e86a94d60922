import CKernels

/// Which int8 kernel variant runs (chosen from the CPU at run time, or forced with ZOO_KERNEL).
public enum KernelInfo {
    public static var variant: String { String(cString: zoo_kernel_name()) }
    /// Why ZOO_KERNEL was not honoured, or "".
    public static var note: String { String(cString: zoo_kernel_note()) }
    public static var compiledVariants: String { String(cString: zoo_kernel_variants()) }
    /// The f32 kernels' variant ("avx512", "avx2", "scalar"), which follows `variant`.
    public static var f32Variant: String { String(cString: zoo_f32_kernel_name()) }
    /// The weight-only Q8_0 kernels' variant (Q8_0 weights, f32 activations); follows `variant` too.
    public static var q8_0WeightOnlyVariant: String { String(cString: zoo_q8_0w_kernel_name()) }
}
