//! The tensor rows of the op registry: the tensor methods (`x.matmul(w)`, `x.sum_axis(1)`)
//! and the runtime helpers of their derivatives, each named by its path under
//! `::autodiff::__private::tensor_rules`.
use super::*;

/// The runtime helpers of tensor derivatives: `Variant => path, result, cotangent;` where
/// `path` is the helper's name under `::autodiff::__private::tensor_rules` (emitted as that
/// path), `result` says whether it returns a `Tensor` or a `Scalar`, and `cotangent` how it
/// takes the cotangent or tangent (its last argument): `Borrowed` (`&g`), or `Owned` where
/// the helper also takes it by value (a diagonal rule generic over
/// `tensor_rules::Cotangent`), which generated code does when `g` is read only there: the
/// helper then writes the result into `g`'s buffer.
macro_rules! tensor_rules {
    ($($variant:ident => $path:ident, $result:ident, $cotangent:ident;)*) => {
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
            /// Whether it may be handed its cotangent (its last argument) by value.
            pub fn takes_owned(self) -> bool {
                match self { $(RuleFn::$variant => Cotangent::$cotangent == Cotangent::Owned,)* }
            }
        }
    };
}

tensor_rules! {
    MatmulLhsVjp => matmul_lhs_vjp, Tensor, Borrowed;
    MatmulLhsJvp => matmul_lhs_jvp, Tensor, Borrowed;
    MatmulRhsVjp => matmul_rhs_vjp, Tensor, Borrowed;
    MatmulRhsJvp => matmul_rhs_jvp, Tensor, Borrowed;
    TransposeRule => transpose_rule, Tensor, Borrowed;
    SumVjp => sum_vjp, Tensor, Borrowed;
    SumJvp => sum_jvp, Scalar, Borrowed;
    MeanVjp => mean_vjp, Tensor, Borrowed;
    MeanJvp => mean_jvp, Scalar, Borrowed;
    SumAxisRuleVjp => sum_axis_rule_vjp, Tensor, Borrowed;
    SumAxisRuleJvp => sum_axis_rule_jvp, Tensor, Borrowed;
    MeanAxisRuleVjp => mean_axis_rule_vjp, Tensor, Borrowed;
    MeanAxisRuleJvp => mean_axis_rule_jvp, Tensor, Borrowed;
    MaxAxisRuleVjp => max_axis_rule_vjp, Tensor, Borrowed;
    MaxAxisRuleJvp => max_axis_rule_jvp, Tensor, Borrowed;
    LogsumexpAxisRuleVjp => logsumexp_axis_rule_vjp, Tensor, Borrowed;
    LogsumexpAxisRuleJvp => logsumexp_axis_rule_jvp, Tensor, Borrowed;
    SoftmaxRule => softmax_rule, Tensor, Borrowed;
    LogSoftmaxRuleVjp => log_softmax_rule_vjp, Tensor, Borrowed;
    LogSoftmaxRuleJvp => log_softmax_rule_jvp, Tensor, Borrowed;
    ReluRule => relu_rule, Tensor, Owned;
    SigmoidRule => sigmoid_rule, Tensor, Owned;
    SquareRule => square_rule, Tensor, Owned;
    TanhRule => tanh_rule, Tensor, Owned;
    BroadcastTangent => broadcast_tangent, Tensor, Borrowed;
    ResetRule => reset_rule, Tensor, Borrowed;
}

/// How a tensor rule takes its cotangent (see `tensor_rules!`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cotangent {
    Borrowed,
    Owned,
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
    // A tensor's `tanh` (a scalar's stays the float method): its rule reads only the result.
    Tanh => tanh(0), Tensor, |_, y| vec![rule(TanhRule, TanhRule, vec![y])];
}

impl TensorOp {
    /// The registry's `name` facet: the method's, but `tensor_tanh` for `tanh` (the float
    /// method's row is `tanh`; names are unique).
    pub fn name(self) -> &'static str {
        match self {
            TensorOp::Tanh => "tensor_tanh",
            other => other.method(),
        }
    }

    /// The registry's `cost` facet: what a reversed loop does with the result. `tanh` is a
    /// transcendental map, saved as the float method's row is; the others are recomputed.
    pub fn cost(self) -> Cost {
        match self {
            TensorOp::Tanh => Cost::Save,
            _ => Cost::Recompute,
        }
    }
}
