//! The tract plan: ONNX bytes -> an optimised, runnable graph with a symbolic batch
//! dimension, built once and reused for every request.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::optim::Optimizer;
use tract_onnx::tract_hir::infer::Factoid as _;

use crate::core::bundle::ModelSpec;

use super::{operators, ModelError};

/// A runnable plan whose input is `[N, width]` f32 and whose outputs are, in order,
/// intent `[N, 1]` and segment `[N, segments]`.
#[derive(Debug, Clone)]
pub struct Plan {
    runnable: Arc<TypedRunnableModel>,
    width: usize,
    segments: usize,
}

/// One batch's outputs, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub intent: Vec<f32>,
    /// `rows x segments`, row-major.
    pub segment: Vec<f32>,
    pub segments: usize,
}

impl Scores {
    pub fn segment_row(&self, row: usize) -> &[f32] {
        &self.segment[row * self.segments..][..self.segments]
    }
}

/// What one step of a build left: more to do, or the result.
pub enum Progress<B, T> {
    More(B),
    Done(T),
}

/// A plan built one stage at a time ([`PlanBuild::step`]): an isolate that serves
/// requests on its one thread lets them in between stages, so none waits for a whole
/// build (the edge swapping a bundle in). `Model::load` runs every stage at once.
pub struct PlanBuild<'a> {
    spec: &'a ModelSpec,
    segments: usize,
    stage: Stage<'a>,
}

/// Where a build is: each variant holds what the next step starts from.
enum Stage<'a> {
    Onnx(&'a [u8]),
    Inference(InferenceModel),
    Typed(TypedModel),
    /// Being optimised: tract's codegen passes run one step each, in its order, from
    /// the `usize`th; then one run of the whole optimiser takes the graph to its fixed
    /// point, as a one-shot `optimize` does. Optimising is most of a build (6 to 7 ms of
    /// about 8 in V8), so one step for it all would be the longest wait of a swap.
    Optimising(TypedModel, usize),
    Optimised(TypedModel),
}

/// How many code-generation passes tract's optimiser runs (6 in tract 0.23).
fn codegen_passes() -> usize {
    Optimizer::codegen().passes.len()
}

/// Step names of the codegen passes, by their place in tract's order.
const PASS_STEPS: [&str; 8] = [
    "optimise: pass 1",
    "optimise: pass 2",
    "optimise: pass 3",
    "optimise: pass 4",
    "optimise: pass 5",
    "optimise: pass 6",
    "optimise: pass 7",
    "optimise: pass 8",
];

fn tract(stage: &'static str) -> impl Fn(TractError) -> ModelError {
    move |e: TractError| ModelError::Tract {
        stage,
        message: format!("{e:#}"),
    }
}

impl<'a> PlanBuild<'a> {
    pub fn new(spec: &'a ModelSpec, segments: usize, onnx: &'a [u8]) -> Self {
        PlanBuild {
            spec,
            segments,
            stage: Stage::Onnx(onnx),
        }
    }

    /// What the next step does, for benchmarks and logs.
    pub fn next_step(&self) -> &'static str {
        match self.stage {
            Stage::Onnx(_) => "read the ONNX graph",
            Stage::Inference(_) => "infer types",
            Stage::Typed(_) => "declutter",
            Stage::Optimising(_, pass) if pass < codegen_passes() => PASS_STEPS
                .get(pass)
                .copied()
                .unwrap_or("optimise: a further pass"),
            Stage::Optimising(..) => "optimise: to the fixed point",
            Stage::Optimised(_) => "build the runnable plan",
        }
    }

    /// Runs one stage.
    pub fn step(self) -> Result<Progress<Self, Plan>, ModelError> {
        let PlanBuild {
            spec,
            segments,
            stage,
        } = self;
        let stage = match stage {
            Stage::Onnx(onnx) => Stage::Inference(read_graph(spec, onnx)?),
            Stage::Inference(model) => {
                Stage::Typed(model.into_typed().map_err(tract("inferring types"))?)
            }
            Stage::Typed(model) => Stage::Optimising(
                model
                    .into_decluttered()
                    .map_err(tract("optimising the graph"))?,
                0,
            ),
            Stage::Optimising(mut model, pass) => {
                let optimizer = Optimizer::codegen();
                match optimizer.passes.get(pass) {
                    Some(one) => {
                        let mut one = one.clone();
                        optimizer
                            .session()
                            .run_one_pass_outer(0, one.as_mut(), &mut model)
                            .and_then(|()| model.compact())
                            .map_err(tract("optimising the graph"))?;
                        Stage::Optimising(model, pass + 1)
                    }
                    None => {
                        model.optimize().map_err(tract("optimising the graph"))?;
                        check_output_width(&model, 0, &spec.intent_output, 1)?;
                        check_output_width(&model, 1, &spec.segment_output, segments)?;
                        Stage::Optimised(model)
                    }
                }
            }
            Stage::Optimised(model) => {
                let runnable = model.into_runnable().map_err(tract("building the plan"))?;
                return Ok(Progress::Done(Plan {
                    runnable,
                    width: spec.width,
                    segments,
                }));
            }
        };
        Ok(Progress::More(PlanBuild {
            spec,
            segments,
            stage,
        }))
    }
}

/// The graph, checked against the manifest (operators, input, width, outputs), its
/// outputs selected and its input `[N, width]`.
fn read_graph(spec: &ModelSpec, onnx: &[u8]) -> Result<InferenceModel, ModelError> {
    let framework = operators::framework();
    let proto = framework
        .proto_model_for_read(&mut std::io::Cursor::new(onnx))
        .map_err(tract("reading the ONNX graph"))?;
    let graph = proto.graph.as_ref();
    if let Some(operator) = graph.and_then(operators::first_unsupported) {
        return Err(ModelError::Operator {
            operator: operator.to_string(),
            supported: operators::supported(),
        });
    }
    let mut model = framework
        .model_for_proto_model(&proto)
        .map_err(tract("reading the ONNX graph"))?;

    let inputs: Vec<String> = model
        .input_outlets()
        .map_err(tract("listing inputs"))?
        .iter()
        .map(|o| model.node(o.node).name.clone())
        .collect();
    if inputs != [spec.input.as_str()] {
        return Err(ModelError::Input {
            expected: spec.input.clone(),
            found: inputs,
        });
    }
    check_declared_width(&model, spec.width)?;

    let outputs: Vec<String> = model
        .output_outlets()
        .map_err(tract("listing outputs"))?
        .iter()
        .map(|o| {
            model
                .outlet_label(*o)
                .map_or_else(|| model.node(o.node).name.clone(), str::to_string)
        })
        .collect();
    for wanted in [&spec.intent_output, &spec.segment_output] {
        if !outputs.contains(wanted) {
            return Err(ModelError::Output {
                expected: wanted.clone(),
                found: outputs,
            });
        }
    }
    model
        .select_outputs_by_name([&spec.intent_output, &spec.segment_output])
        .map_err(tract("selecting outputs"))?;

    let batch = model.sym("N");
    model
        .set_input_fact(0, f32::fact([batch.to_dim(), spec.width.to_dim()]).into())
        .map_err(tract("setting the input shape"))?;
    Ok(model)
}

impl Plan {
    pub fn width(&self) -> usize {
        self.width
    }

    /// Runs `rows.len() / width` rows in one batch.
    pub fn run(&self, rows: &[f32]) -> Result<Scores, ModelError> {
        let run_error = |e: TractError| ModelError::Run(format!("{e:#}"));
        if rows.is_empty() || !rows.len().is_multiple_of(self.width) {
            return Err(ModelError::Run(format!(
                "{} input values is not a whole number of rows of {}",
                rows.len(),
                self.width
            )));
        }
        let n = rows.len() / self.width;
        let input = Tensor::from_shape(&[n, self.width], rows).map_err(run_error)?;
        let outputs = self.runnable.run(tvec!(input.into())).map_err(run_error)?;
        let [intent, segment] = outputs.as_slice() else {
            return Err(ModelError::Run(format!(
                "{} outputs, expected 2",
                outputs.len()
            )));
        };
        let intent = flat(intent, n, 1).map_err(run_error)?;
        let segment = flat(segment, n, self.segments).map_err(run_error)?;
        Ok(Scores {
            intent,
            segment,
            segments: self.segments,
        })
    }
}

/// An output tensor as a flat row-major vector, checked to be `[rows, cols]`.
fn flat(value: &TValue, rows: usize, cols: usize) -> TractResult<Vec<f32>> {
    let view = value.to_plain_array_view::<f32>()?;
    if view.shape() != [rows, cols] {
        return Err(TractError::msg(format!(
            "output shape {:?}, expected [{rows}, {cols}]",
            view.shape()
        )));
    }
    Ok(view.iter().copied().collect())
}

/// When the graph declares a concrete input width, it must be the manifest's.
fn check_declared_width(model: &InferenceModel, width: usize) -> Result<(), ModelError> {
    let Ok(fact) = model.input_fact(0) else {
        return Ok(());
    };
    let dims: Vec<_> = fact.shape.dims().collect();
    if let [_, last] = dims.as_slice() {
        if let Some(declared) = last.concretize().and_then(|d| d.as_i64()) {
            if declared != width as i64 {
                return Err(ModelError::Width {
                    tensor: "input".into(),
                    manifest: width,
                    model: declared.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Output `index` must be `[N, width]`.
fn check_output_width(
    model: &TypedModel,
    index: usize,
    name: &str,
    width: usize,
) -> Result<(), ModelError> {
    let fact = model.output_fact(index).map_err(|e| ModelError::Tract {
        stage: "reading output shapes",
        message: format!("{e:#}"),
    })?;
    let shape = &fact.shape;
    let ok = shape.rank() == 2 && shape[1].as_i64() == Some(width as i64);
    if ok {
        Ok(())
    } else {
        Err(ModelError::Width {
            tensor: name.to_string(),
            manifest: width,
            model: format!("{shape:?}"),
        })
    }
}
