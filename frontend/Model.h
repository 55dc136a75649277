//===- Model.h - models, the model manager, save and load -------*- C++ -*-===//
#ifndef NEUROMANCER_FRONTEND_MODEL_H
#define NEUROMANCER_FRONTEND_MODEL_H

#include "neuromancer/frontend/Node.h"
#include "neuromancer/frontend/Training.h"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nm {

class Executable;

/// A node given by handle or by name (designate_nodes accepts both).
struct NodeRef {
  NodeRef(Node node) : node(std::move(node)) {}
  NodeRef(const char *name) : name(name) {}
  NodeRef(std::string name) : name(std::move(name)) {}
  Node node;
  std::string name;
};

/// Keyword arguments of Model::designate_nodes.
struct DesignateOptions {
  NodeRef input_node = "input";
  std::optional<NodeRef> target_node;
  std::optional<NodeRef> loss_node;
  std::optional<NodeRef> prediction_node;
  std::vector<NodeRef> prediction_ext;
  std::optional<NodeRef> error_node;
  std::vector<NodeRef> debug_outputs;
};

/// Keyword arguments of Model::save.
struct SaveOptions {
  /// Named texts stored in the file with the model, each with a checksum
  /// (the trainer keeps its state here, so a checkpoint is one file); read
  /// back with model_attachments.
  std::map<std::string, std::string> attachments;
};

/// All parameter values of a model: node name -> (param name -> value).
using ModelParamValues = OrderedDict<ParamValues>;

class Model {
public:
  explicit Model(std::string name);
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  const std::string &name() const { return name_; }
  /// Node names in registration order.
  std::vector<std::string> names() const;
  std::vector<Node> nodes() const { return nodes_; }
  std::size_t size() const { return nodes_.size(); }
  bool contains(const std::string &name) const;
  /// model["nll"]; KeyError naming the node and the known names.
  Node operator[](const std::string &name) const;
  Node operator[](const char *name) const { return (*this)[std::string(name)]; }
  /// model[i] in registration order.
  Node at(std::size_t index) const;
  /// "['image', 'conv', ...]", ELEKTRONN2's repr(model).
  std::string repr() const;

  /// Tells the model which nodes play which role, then logs the prediction
  /// properties and the totals (cost, trainable parameters, cost per pixel).
  void designate_nodes(const DesignateOptions &options);
  Node input_node() const { return input_node_; }
  Node target_node() const { return target_node_; }
  Node loss_node() const { return loss_node_; }
  Node prediction_node() const { return prediction_node_; }
  Node error_node() const { return error_node_; }
  std::vector<Node> prediction_ext() const { return prediction_ext_; }
  std::vector<Node> debug_outputs() const { return debug_outputs_; }
  /// Prediction batch size (None if unknown) and number of spatial axes.
  int64_t batch_size() const { return batch_size_; }
  int64_t ndim() const { return ndim_; }
  /// Cost of the loss's sub-graph (prediction's if there is no loss).
  int64_t total_computational_cost() const;
  int64_t total_params_count() const;

  /// The designated functions as one nm MLIR module: @prediction,
  /// @prediction_ext and @loss, those that are designated. ValueError if
  /// nothing is designated. Needs a compiler backend (Backend.h).
  std::string to_mlir() const;

  /// The designated functions, called like nodes (compiled on first use):
  /// predict = prediction node, predict_ext = prediction_ext nodes,
  /// loss = loss node. Needs a compiler backend (Backend.h).
  Array predict(const std::vector<Array> &inputs);
  std::vector<Array> predict_ext(const std::vector<Array> &inputs);
  Array loss(const std::vector<Array> &inputs);
  /// predict_dense of the prediction node (Node::predict_dense).
  Array predict_dense(const Array &raw,
                      const PredictDenseOptions &options = {});

  //===--------------------------------------------------------------------===//
  // Training (Training.cpp; reference §3, §6.6)
  //===--------------------------------------------------------------------===//

  /// One step of `options.optimiser` on the batch `inputs` (the loss's
  /// sources in all_parents order, as model.loss takes them): loss,
  /// gradients and the update in one compiled call, parameters and
  /// optimiser state updated in place. A non-finite loss or update changes
  /// nothing and raises NumericalError naming the step and the first node
  /// with a non-finite gradient. Logs "Compiling Adam step, inputs=[...]"
  /// on first use.
  StepResult trainingstep(const std::vector<Array> &inputs,
                          const TrainingStepOptions &options = {});
  /// The gradient of the loss's mean for every trainable parameter, per
  /// node and parameter (as get_param_values).
  ModelParamValues gradients(const std::vector<Array> &inputs);
  /// Sets lr, mom, wd (shared by all optimisers, as in ELEKTRONN2) and
  /// beta2; ValueError for an unknown optimiser or key.
  void set_opt_meta_params(const std::string &opt_name,
                           const std::map<std::string, double> &params);
  double lr() const { return training_.lr; }
  void set_lr(double lr) { training_.lr = lr; }
  double mom() const { return training_.mom; }
  void set_mom(double mom) { training_.mom = mom; }
  double wd() const { return training_.wd; }
  void set_wd(double wd) { training_.wd = wd; }
  double beta2() const { return training_.beta2; }
  void set_beta2(double beta2) { training_.beta2 = beta2; }
  /// AggregateLoss's mixing weights (ValueError for another loss).
  std::vector<double> mixing() const;
  void set_mixing(const std::vector<double> &weights);
  /// The rate of every layer built with dropout, in node order; set one
  /// for all or one per layer. Both recompile the model's functions.
  std::vector<double> dropout_rates() const;
  void set_dropout_rates(const std::vector<double> &rates);
  /// Training steps made.
  int64_t iterations() const { return training_.iterations; }
  /// Mean of the last 50 step times + 1e-6 s (ELEKTRONN2's).
  double time_per_step() const;
  /// Mean of the last 200 losses.
  double loss_smooth() const;
  /// Per node and parameter (gradient, activation): shape, mean, std,
  /// min, max; logged and returned (TrainingStats.cpp).
  std::string paramstats() const;
  std::string gradstats(const std::vector<Array> &inputs);
  std::string actstats(const std::vector<Array> &inputs);
  /// The values of `outputs` for `inputs` (the sources of all of them), as
  /// ELEKTRONN2's 'Activations' function; compiled once per node list.
  std::vector<Array> activations(const std::vector<Array> &inputs,
                                 const std::vector<Node> &outputs);
  /// Hyper-parameters, accumulators and counters (saved with the model).
  const OptimiserState &optimiser_state() const { return training_; }
  void set_optimiser_state(OptimiserState state) {
    training_ = std::move(state);
  }

  ModelParamValues get_param_values(bool skip_const = false) const;
  /// KeyError for an unknown node name.
  void set_param_values(const ModelParamValues &values,
                        bool skip_const = false);

  /// Writes graph description and parameters to one HDF5 file (atomically:
  /// a temporary file renamed into place).
  void save(const std::string &path, const SaveOptions &options = {}) const;

  // Used by the node builders.
  void add(std::shared_ptr<NodeImpl> node);
  std::set<std::string> takenNames() const;

  /// The designation as given (names), for saving.
  struct Designation {
    std::string input_node, target_node, loss_node, prediction_node, error_node;
    std::vector<std::string> prediction_ext, debug_outputs;
    bool designated = false;
  };
  const Designation &designation() const { return designation_; }

private:
  Node resolve(const NodeRef &ref, const char *role) const;
  void forgetCompiledFunctions();

  std::string name_;
  std::vector<Node> nodes_;
  Node input_node_, target_node_, loss_node_, prediction_node_, error_node_;
  std::vector<Node> prediction_ext_, debug_outputs_;
  int64_t batch_size_ = None;
  int64_t ndim_ = 0;
  Designation designation_;
  // Compiled designated functions ("prediction", "prediction_ext", "loss").
  std::mutex compileMutex_;
  std::map<std::string, std::shared_ptr<const Executable>> compiled_;
  OptimiserState training_;
  friend struct ModelFunctions;
  friend struct TrainingFunctions;
};

/// ELEKTRONN2's model_manager: the models of this program and which one new
/// nodes go to.
class ModelManager {
public:
  /// The current model; with a name, that model (made current). The
  /// "default" model is created on first use.
  Model &getmodel(const std::string &name = "");
  /// A new, empty, current model. ValueError if the name exists; an empty
  /// name gets a unique one.
  Model &newmodel(const std::string &name = "");
  /// Swaps current and last.
  void togglemodel();
  std::vector<std::string> names() const;
  Model &current();
  /// Forgets a model (its nodes stay alive while handles to them exist).
  void remove(const std::string &name);

private:
  std::vector<std::unique_ptr<Model>> models_;
  Model *current_ = nullptr;
  Model *last_ = nullptr;
};

extern ModelManager model_manager;

/// Keyword arguments of modelload / rebuild_model.
struct ModelLoadOptions {
  /// Rebuild every Conv with mfp=true and insert FragmentsToDense before the
  /// prediction node (dense prediction in one pass).
  bool override_mfp_to_active = false;
  /// Spatial input size to use instead of the saved one; rounded to a valid
  /// size (with a log line per changed axis).
  std::vector<int64_t> imposed_patch_size;
  /// Batch size to use instead of the saved one (0 = keep).
  int64_t imposed_batch_size = 0;
  /// Name of the new model (empty = the saved name, made unique).
  std::string name;
};

/// Loads a model saved with Model::save into a new current model.
/// IOError naming the file for a missing, truncated or foreign file.
Model &modelload(const std::string &path, const ModelLoadOptions &options = {});

/// The attachments Model::save stored in `path` (empty if none), each
/// checked against its checksum; IOError naming file and attachment.
std::map<std::string, std::string> model_attachments(const std::string &path);

/// Rebuilds `model` with other batch size / patch size / MFP (the saved
/// description with the options applied) as a new current model.
Model &rebuild_model(const Model &model, const ModelLoadOptions &options = {});

} // namespace nm

#endif // NEUROMANCER_FRONTEND_MODEL_H
