//! The runtime calls of the op registry: the helpers the reverse sweep calls on arrays and
//! value stacks (`push_slice`, `pop_into`, `zero_element`), each named by its path under
//! `::autodiff::__private` and saying how it takes each operand.
use super::*;

/// How a runtime call takes an operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// `&mut x`
    Mut,
    /// `&x[..]`
    Slice,
    /// `&mut x[..]`
    MutSlice,
}

/// The runtime helpers the reverse sweep calls on arrays and stacks: `Variant =>
/// path(how each operand is passed), [the operands it changes];`, `path` under
/// `::autodiff::__private`.
macro_rules! runtime_calls {
    ($($variant:ident => $path:ident($($pass:ident),*), [$($written:literal),*];)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Runtime { $($variant,)* }
        impl Runtime {
            pub const ALL: &'static [Runtime] = &[$(Runtime::$variant,)*];
            /// The helper's path in generated code.
            pub fn path(self) -> TokenStream {
                match self { $(Runtime::$variant => quote!(::autodiff::__private::$path),)* }
            }
            pub fn name(self) -> &'static str {
                match self { $(Runtime::$variant => stringify!($path),)* }
            }
            pub fn passing(self) -> &'static [Pass] {
                match self { $(Runtime::$variant => &[$(Pass::$pass),*],)* }
            }
            /// The operands the call changes in place.
            pub fn writes(self) -> &'static [usize] {
                match self { $(Runtime::$variant => &[$($written),*],)* }
            }
        }
    };
}

runtime_calls! {
    // An array's contents pushed onto a value stack, whole (saved at the end of an iteration).
    PushSlice => push_slice(Mut, Slice), [0];
    // The last array pushed, popped back into the array.
    PopInto => pop_into(Mut, MutSlice), [0, 1];
    // The zero of an array's element type (the macro does not know the type).
    ZeroElement => zero_element(Slice), [];
}
