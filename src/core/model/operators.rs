//! The ONNX operators a plan may use: exactly those the training pipeline exports
//! (`model/train/edgeseg_train/onnx_export.py`: dense layers with ReLU, a sigmoid intent
//! head and a softmax segment head). tract-onnx's full registry names about 180
//! operators and so links every one's parser and inference op into the worker;
//! registering only these five took 1 MB off the wasm (README, Performance). A graph
//! with any other operator is refused when its bundle is built, with the operator's
//! name, here as in the worker.
//!
//! The other half of that cut is outside this crate: tract-nnef registers a model
//! transform at startup that keeps its NNEF parser, every NNEF operator and rustfft in
//! any binary that links it (2.6 MB of the wasm). Cargo.toml builds tract-nnef without
//! it (`patches/`); the test below fails if that patch is ever dropped.

use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops;

type Builder = fn(&ParsingContext, &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

/// The operators the registry holds, in the order the exporter emits them; each
/// builder is tract-onnx's own for that operator.
const OPERATORS: [(&str, Builder); 5] = [
    ("MatMul", |_, _| {
        Ok((expand(ops::matmul::MatMulInference::default()), vec![]))
    }),
    ("Add", |_, _| Ok((ops::math::Add.into_hir(), vec![]))),
    ("Relu", |_, _| {
        Ok((expand(ops::activations::Clip::new(Some(0.0), None)), vec![]))
    }),
    ("Sigmoid", |_, _| {
        Ok((ops::nn::sigmoid().into_hir(), vec![]))
    }),
    ("Softmax", softmax),
];

/// The names of the operators a graph may use.
pub fn supported() -> Vec<&'static str> {
    OPERATORS.iter().map(|(name, _)| *name).collect()
}

/// tract-onnx's framework with only these operators registered.
pub fn framework() -> tract_onnx::Onnx {
    let mut register = OnnxOpRegister::default();
    for (name, builder) in OPERATORS {
        register.insert(name, builder);
    }
    tract_onnx::Onnx {
        op_register: register,
        ..tract_onnx::Onnx::default()
    }
}

/// The first operator of `graph` (main graph only: these operators have no
/// subgraphs) that the registry does not hold.
pub fn first_unsupported(graph: &tract_onnx::pb::GraphProto) -> Option<&str> {
    graph
        .node
        .iter()
        .map(|node| node.op_type.as_str())
        .find(|op| !OPERATORS.iter().any(|(name, _)| name == op))
}

/// `Softmax` as tract-onnx reads it: before opset 13 it normalises over the flattened
/// trailing axes from `axis` (default 1), from 13 over `axis` alone (default -1).
fn softmax(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let axis = node.get_attr_opt("axis")?;
    if ctx.onnx_operator_set_version < 13 {
        Ok((
            expand(ops::nn::LayerSoftmax::new(axis.unwrap_or(1), true)),
            vec![],
        ))
    } else {
        Ok((expand(ops::nn::Softmax::new(axis.unwrap_or(-1))), vec![]))
    }
}

#[cfg(test)]
mod tests {
    use tract_onnx::tract_core::transform::get_transform;

    #[test]
    fn tract_nnef_patch_transform_is_not_linked() {
        // Unpatched, the transform is registered and asking for it without a body fails.
        assert!(
            matches!(get_transform("patch"), Ok(None)),
            "tract-nnef's \"patch\" transform is linked: is Cargo.toml's [patch.crates-io] gone?"
        );
    }

    #[test]
    fn the_other_transforms_are_still_registered() {
        // The patch takes out one registration, not the registry: tract-core's own remain.
        assert!(matches!(get_transform("block_quant"), Ok(Some(_))));
    }
}
