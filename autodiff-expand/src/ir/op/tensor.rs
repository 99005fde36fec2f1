//! The tensor rows of the op registry: the tensor methods (`x.matmul(w)`, `x.sum_axis(1)`)
//! and the runtime helpers of their derivatives, each named by its path under
//! `::autodiff::__private::tensor_rules`.
use super::*;

/// The runtime helpers of tensor derivatives: `Variant => path, result;` where `path` is the
/// helper's name under `::autodiff::__private::tensor_rules` (emitted as that path) and
/// `result` says whether it returns a `Tensor` or a `Scalar`.
macro_rules! tensor_rules {
    ($($variant:ident => $path:ident, $result:ident;)*) => {
        /// A derivative helper of `autodiff_core::tensor::rules`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum RuleFn { $($variant,)* }
        impl RuleFn {
            pub const ALL: &'static [RuleFn] = &[$(RuleFn::$variant,)*];
            /// The helper's path in generated code.
            pub fn path(self) -> TokenStream {
                match self {
                    $(RuleFn::$variant => quote!(::autodiff::__private::tensor_rules::$path),)*
                }
            }
            pub fn name(self) -> &'static str {
                match self { $(RuleFn::$variant => stringify!($path),)* }
            }
            /// Whether it returns a tensor.
            pub fn tensor(self) -> bool {
                match self { $(RuleFn::$variant => Shape::$result == Shape::Tensor,)* }
            }
        }
    };
}

tensor_rules! {
    MatmulLhsVjp => matmul_lhs_vjp, Tensor;
    MatmulLhsJvp => matmul_lhs_jvp, Tensor;
    MatmulRhsVjp => matmul_rhs_vjp, Tensor;
    MatmulRhsJvp => matmul_rhs_jvp, Tensor;
    TransposeRule => transpose_rule, Tensor;
    SumVjp => sum_vjp, Tensor;
    SumJvp => sum_jvp, Scalar;
    MeanVjp => mean_vjp, Tensor;
    MeanJvp => mean_jvp, Scalar;
    SumAxisRuleVjp => sum_axis_rule_vjp, Tensor;
    SumAxisRuleJvp => sum_axis_rule_jvp, Tensor;
    MeanAxisRuleVjp => mean_axis_rule_vjp, Tensor;
    MeanAxisRuleJvp => mean_axis_rule_jvp, Tensor;
    MaxAxisRuleVjp => max_axis_rule_vjp, Tensor;
    MaxAxisRuleJvp => max_axis_rule_jvp, Tensor;
    LogsumexpAxisRuleVjp => logsumexp_axis_rule_vjp, Tensor;
    LogsumexpAxisRuleJvp => logsumexp_axis_rule_jvp, Tensor;
    SoftmaxRule => softmax_rule, Tensor;
    LogSoftmaxRuleVjp => log_softmax_rule_vjp, Tensor;
    LogSoftmaxRuleJvp => log_softmax_rule_jvp, Tensor;
    ReluRule => relu_rule, Tensor;
    SigmoidRule => sigmoid_rule, Tensor;
    SquareRule => square_rule, Tensor;
    BroadcastTangent => broadcast_tangent, Tensor;
    ResetRule => reset_rule, Tensor;
}

/// A tensor rule's partial: `reverse` in the adjoint sweep, `forward` in the tangent sweep
/// (the same helper where the Jacobian is symmetric), called with `args` and the cotangent
/// or tangent.
fn rule(reverse: RuleFn, forward: RuleFn, args: Vec<Operand>) -> Partial {
    p(Coef::Call {
        reverse,
        forward,
        args,
    })
}

/// The tensor methods: `Variant => method(arguments), result, |x, y| partials;` (the
/// arguments besides the receiver; `x` the operands, `y` the result). A passive axis gets
/// the partial zero.
macro_rules! tensor_methods {
    ($($variant:ident => $method:ident($args:literal), $result:ident, $rule:expr;)*) => {
        /// Tensor methods the macro differentiates; operands are the receiver, then the
        /// argument (the other matrix, or a passive axis).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum TensorOp { $($variant,)* }
        impl TensorOp {
            pub const ALL: &'static [TensorOp] = &[$(TensorOp::$variant,)*];
            /// The method's name and its number of arguments besides the receiver.
            pub fn from_method(name: &str, args: usize) -> Option<TensorOp> {
                match (name, args) {
                    $((stringify!($method), $args) => Some(TensorOp::$variant),)*
                    _ => None,
                }
            }
            pub fn method(self) -> &'static str {
                match self { $(TensorOp::$variant => stringify!($method),)* }
            }
            pub fn shape(self) -> Shape {
                match self { $(TensorOp::$variant => Shape::$result,)* }
            }
            /// The result is a scalar (a full reduction).
            pub fn scalar_result(self) -> bool {
                self.shape() == Shape::Scalar
            }
            pub fn partials(self, x: &[Operand], y: Operand) -> Vec<Partial> {
                use RuleFn::*;
                match self {
                    $(TensorOp::$variant => {
                        let rule: fn(&[Operand], Operand) -> Vec<Partial> = $rule;
                        rule(x, y)
                    })*
                }
            }
        }
    };
}

tensor_methods! {
    Matmul => matmul(1), Tensor, |x, _| vec![
        rule(MatmulLhsVjp, MatmulLhsJvp, vec![x[0].clone(), x[1].clone()]),
        rule(MatmulRhsVjp, MatmulRhsJvp, vec![x[0].clone(), x[1].clone()]),
    ];
    Transpose => transpose(0), Tensor, |_, _| vec![rule(TransposeRule, TransposeRule, vec![])];
    Sum => sum(0), Scalar, |x, _| vec![rule(SumVjp, SumJvp, vec![x[0].clone()])];
    Mean => mean(0), Scalar, |x, _| vec![rule(MeanVjp, MeanJvp, vec![x[0].clone()])];
    SumAxis => sum_axis(1), Tensor, |x, _| vec![
        rule(SumAxisRuleVjp, SumAxisRuleJvp, vec![x[0].clone(), x[1].clone()]),
        p(Coef::Zero),
    ];
    MeanAxis => mean_axis(1), Tensor, |x, _| vec![
        rule(MeanAxisRuleVjp, MeanAxisRuleJvp, vec![x[0].clone(), x[1].clone()]),
        p(Coef::Zero),
    ];
    MaxAxis => max_axis(1), Tensor, |x, _| vec![
        rule(MaxAxisRuleVjp, MaxAxisRuleJvp, vec![x[0].clone(), x[1].clone()]),
        p(Coef::Zero),
    ];
    LogsumexpAxis => logsumexp_axis(1), Tensor, |x, y| vec![
        rule(LogsumexpAxisRuleVjp, LogsumexpAxisRuleJvp, vec![x[0].clone(), y, x[1].clone()]),
        p(Coef::Zero),
    ];
    Softmax => softmax(1), Tensor, |x, y| vec![
        rule(SoftmaxRule, SoftmaxRule, vec![x[0].clone(), y, x[1].clone()]),
        p(Coef::Zero),
    ];
    LogSoftmax => log_softmax(1), Tensor, |x, y| vec![
        rule(LogSoftmaxRuleVjp, LogSoftmaxRuleJvp, vec![x[0].clone(), y, x[1].clone()]),
        p(Coef::Zero),
    ];
    Relu => relu(0), Tensor, |x, y| vec![rule(ReluRule, ReluRule, vec![x[0].clone(), y])];
    Sigmoid => sigmoid(0), Tensor, |x, y| vec![rule(SigmoidRule, SigmoidRule, vec![x[0].clone(), y])];
    Square => square(0), Tensor, |x, y| vec![rule(SquareRule, SquareRule, vec![x[0].clone(), y])];
}
