//! Forward mode (JVP): each active statement is followed by its tangent,
//! `dy = Σ ∂y/∂xᵢ · dxᵢ` over the operands that carry one. Branches and loops keep their
//! shape; a location (`let mut` assigned in a loop) gets a tangent location, an array a
//! tangent array of the same shape.
use crate::activity::Activity;
use crate::ir::{fresh, Builder, Function, Op, Operand, Origin, Rhs, RuleFn, Stmt, Var, VarId};
use crate::rules;
use proc_macro2::Span;

pub struct Forward {
    /// Primal and tangent statements, interleaved.
    pub f: Function,
    /// The tangent of each output; `None` where it is zero.
    pub tangents: Vec<Option<Operand>>,
}

struct Fwd<'a> {
    act: &'a Activity,
    vars: Vec<Var>,
    tangent: Vec<Option<Operand>>,
}

/// `seeds` pairs each differentiated parameter with its tangent.
pub fn forward(primal: &Function, act: &Activity, seeds: &[(VarId, Operand)]) -> Forward {
    let mut fw = Fwd {
        act,
        vars: primal.vars.clone(),
        tangent: vec![None; primal.vars.len()],
    };
    for (v, t) in seeds {
        fw.tangent[*v] = Some(t.clone());
    }
    let body = fw.block(&primal.body);
    let tangents = primal
        .outputs
        .iter()
        .map(|o| o.var().and_then(|v| fw.tangent[v].clone()))
        .collect();
    Forward {
        f: Function {
            vars: fw.vars,
            params: primal.params.clone(),
            body,
            outputs: primal.outputs.clone(),
        },
        tangents,
    }
}

impl Fwd<'_> {
    fn builder<'b>(&'b mut self, out: &'b mut Vec<Stmt>, span: Span) -> Builder<'b> {
        Builder {
            vars: &mut self.vars,
            out,
            span,
        }
    }

    fn block(&mut self, block: &[Stmt]) -> Vec<Stmt> {
        let mut out = Vec::with_capacity(block.len() * 2);
        for stmt in block {
            let mut primal = stmt.clone();
            for inner in primal.blocks_mut() {
                *inner = self.block(inner);
            }
            // `y = v` of a whole array moves `v`: its tangent (a zero shaped like it, where it
            // has none) is taken before.
            if matches!(stmt, Stmt::Assign { dst, .. } if self.vars[*dst].is_array()) {
                self.tangent_of(stmt, &mut out);
                out.push(primal);
                continue;
            }
            out.push(primal);
            self.tangent_of(stmt, &mut out);
        }
        out
    }

    /// The tangent of `operand`, or a zero of its type where it has none.
    fn tangent_or_zero(&mut self, operand: &Operand, out: &mut Vec<Stmt>, span: Span) -> Operand {
        match operand.var().and_then(|v| self.tangent[v].clone()) {
            Some(t) => t,
            None => self.builder(out, span).let_(Rhs::Zero(operand.clone())),
        }
    }

    fn new_tangent_location(&mut self, v: VarId, rhs: Rhs, out: &mut Vec<Stmt>, span: Span) {
        let name = format!("tangent_{}", self.vars[v].name);
        let t = fresh(&mut self.vars, name, span, Origin::Derivative);
        self.vars[t].mutable = true;
        self.vars[t].shape = self.vars[v].shape.clone();
        // The tangent of an array of tensors is one too.
        self.vars[t].tensor = self.vars[v].is_array() && self.vars[v].tensor;
        out.push(Stmt::Let {
            dst: Some(t),
            rhs,
            span,
        });
        self.tangent[v] = Some(Operand::Var(t));
    }

    fn tangent_of(&mut self, stmt: &Stmt, out: &mut Vec<Stmt>) {
        let act = self.act;
        match stmt {
            Stmt::Let {
                dst: Some(d),
                rhs,
                span,
            } => {
                let (d, span) = (*d, *span);
                if !act.is_active(d) || act.stopped[d] || self.tangent[d].is_some() {
                    return;
                }
                if self.vars[d].mutable || self.vars[d].is_array() {
                    let rhs = self.container_tangent(d, rhs, out, span);
                    self.new_tangent_location(d, rhs, out, span);
                    return;
                }
                self.tangent[d] = self.value_tangent(d, rhs, out, span);
            }
            Stmt::Assign { dst, value, span } => {
                if let Some(t) = self.tangent[*dst].as_ref().and_then(Operand::var) {
                    let dv = self.tangent_or_zero(value, out, *span);
                    out.push(Stmt::Assign {
                        dst: t,
                        value: dv,
                        span: *span,
                    });
                }
            }
            Stmt::Store {
                array,
                index,
                value,
                accumulate,
                span,
            } => {
                if let Some(t) = self.tangent[*array].as_ref().and_then(Operand::var) {
                    let dv = self.tangent_or_zero(value, out, *span);
                    out.push(Stmt::Store {
                        array: t,
                        index: index.clone(),
                        value: dv,
                        accumulate: *accumulate,
                        span: *span,
                    });
                }
            }
            _ => {}
        }
    }

    /// The initial tangent of a location or an array.
    fn container_tangent(&mut self, d: VarId, rhs: &Rhs, out: &mut Vec<Stmt>, span: Span) -> Rhs {
        match rhs {
            Rhs::Uninit => Rhs::Uninit,
            Rhs::Op(Op::Id, args) if !self.vars[d].is_array() => {
                let t = self.tangent_or_zero(&args[0], out, span);
                Rhs::Op(Op::Id, vec![t])
            }
            Rhs::ArrayLit(elements) => {
                let ts = elements
                    .iter()
                    .map(|e| self.tangent_or_zero(e, out, span))
                    .collect();
                Rhs::ArrayLit(ts)
            }
            Rhs::CopyArray(src) => match self.tangent[*src].as_ref().and_then(Operand::var) {
                Some(t) => Rhs::CopyArray(t),
                None => Rhs::Zero(Operand::Var(d)),
            },
            // An array a call returns: a copy of the tangent the callee's forward derivative
            // returns with it.
            Rhs::Call(_) if self.vars[d].is_array() => {
                match self.value_tangent(d, rhs, out, span).and_then(|t| t.var()) {
                    Some(t) => {
                        self.vars[t].shape = self.vars[d].shape.clone();
                        Rhs::CopyArray(t)
                    }
                    None => Rhs::Zero(Operand::Var(d)),
                }
            }
            _ => Rhs::Zero(Operand::Var(d)),
        }
    }

    /// The tangent of a single-assignment value.
    fn value_tangent(
        &mut self,
        d: VarId,
        rhs: &Rhs,
        out: &mut Vec<Stmt>,
        span: Span,
    ) -> Option<Operand> {
        match rhs {
            // A snapshot of a location: a snapshot of its tangent.
            Rhs::Op(Op::Id, args) if args[0].var().is_some_and(|l| self.vars[l].mutable) => {
                let t = self.tangent[args[0].var()?].clone()?;
                Some(self.builder(out, span).let_(Rhs::Op(Op::Id, vec![t])))
            }
            Rhs::Op(op, args) => {
                let mut b = Builder {
                    vars: &mut self.vars,
                    out,
                    span,
                };
                let partials = rules::partials(&mut b, *op, args, &Operand::Var(d));
                let mut sum = None;
                let mut terms = 0;
                for (arg, partial) in args.iter().zip(&partials) {
                    let Some(dx) = arg.var().and_then(|a| self.tangent[a].clone()) else {
                        continue;
                    };
                    if let Some(term) = rules::apply(&mut b, partial, dx, false) {
                        sum = Some(rules::accumulate(&mut b, sum, term));
                        terms += 1;
                    }
                }
                // Broadcasting `a ± b` with one tangent: that tangent has its operand's shape
                // (a scalar's is a scalar), not the result's, so it is broadcast to the
                // result's. (Every term of `*` and `/` has a factor of the result's shape,
                // and the sum of two terms has the broadcast shape already.)
                if terms == 1 && matches!(op, Op::Add | Op::Sub) && b.vars[d].tensor {
                    let rule = Op::Rule(RuleFn::BroadcastTangent);
                    sum = sum.map(|t| b.op(rule, vec![Operand::Var(d), t]));
                }
                sum
            }
            Rhs::Index(array, index) => {
                let t = self.tangent[*array].as_ref().and_then(Operand::var)?;
                Some(self.builder(out, span).let_(Rhs::Index(t, index.clone())))
            }
            Rhs::Call(call) => {
                let tangents: Vec<Option<Operand>> = call
                    .args
                    .iter()
                    .map(|a| a.value.var().and_then(|v| self.tangent[v].clone()))
                    .collect();
                if tangents.iter().all(Option::is_none) {
                    return None;
                }
                let mut b = self.builder(out, span);
                let pair = b.let_(Rhs::CallForward(call.clone(), tangents));
                Some(b.let_(Rhs::Field(pair.var()?, vec![1])))
            }
            // Output `k` of a tuple-valued call: field `k` of the call's tangent.
            Rhs::Output(call, k) => {
                let t = self.tangent[*call].as_ref().and_then(Operand::var)?;
                Some(self.builder(out, span).let_(Rhs::Field(t, vec![*k])))
            }
            _ => None,
        }
    }
}
