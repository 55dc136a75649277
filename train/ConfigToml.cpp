//===- ConfigToml.cpp - ExperimentConfig from and to TOML -----------------===//
//
// One table of fields per struct (name, reader, writer), so reading, writing
// and the closest-name suggestions come from the same list. TOML integers
// are accepted where floats are expected; E2's `warp = True` is accepted as
// 1.0. Reading a table into a struct sets only the keys present, so `--set`
// reuses the readers to change single values of an existing config.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/train/Config.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Log.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace nm {
namespace {

/// Where a value is: for messages "config.toml, line 12: 'data_init_kwargs.
/// d_path' must be a string".
struct Where {
  std::string source, key;
  Where child(const std::string &k) const {
    return {source, key.empty() ? k : key + "." + k};
  }
};

[[noreturn]] void bad(const toml::node &n, const Where &w,
                      const std::string &expected) {
  std::string at = w.source;
  if (n.source().begin.line)
    at += ", line " + std::to_string(n.source().begin.line);
  throw ValueError(at + ": '" + w.key + "' must be " + expected);
}

void read(const toml::node &n, const Where &w, bool &out) {
  if (!n.is_boolean())
    bad(n, w, "true or false");
  out = n.as_boolean()->get();
}
void read(const toml::node &n, const Where &w, int64_t &out) {
  if (!n.is_integer())
    bad(n, w, "an integer");
  out = n.as_integer()->get();
}
void read(const toml::node &n, const Where &w, uint64_t &out) {
  if (!n.is_integer() || n.as_integer()->get() < 0)
    bad(n, w, "a non-negative integer");
  out = static_cast<uint64_t>(n.as_integer()->get());
}
void read(const toml::node &n, const Where &w, double &out) {
  if (n.is_integer())
    out = static_cast<double>(n.as_integer()->get());
  else if (n.is_floating_point())
    out = n.as_floating_point()->get();
  else
    bad(n, w, "a number");
}
void read(const toml::node &n, const Where &w, std::string &out) {
  if (!n.is_string())
    bad(n, w, "a string");
  out = n.as_string()->get();
}
void read(const toml::node &n, const Where &w, H5File &out) {
  const toml::array *a = n.as_array();
  if (!a || a->size() != 2 || !(*a)[0].is_string() || !(*a)[1].is_string())
    bad(n, w, "a [file, dataset] pair of strings");
  out = {(*a)[0].as_string()->get(), (*a)[1].as_string()->get()};
}

// Struct readers (defined below with their field tables).
void read(const toml::node &n, const Where &w, ModelLoadOptions &out);
void read(const toml::node &n, const Where &w, PreviewKwargs &out);
void read(const toml::node &n, const Where &w, BatchCreatorOptions &out);
void read(const toml::node &n, const Where &w, GetBatchOptions &out);
void read(const toml::node &n, const Where &w, data::WarpArgs &out);
void read(const toml::node &n, const Where &w, data::BlobArgs &out);
void read(const toml::node &n, const Where &w, data::ElasticArgs &out);
void read(const toml::node &n, const Where &w, data::MisalignArgs &out);
void read(const toml::node &n, const Where &w, data::MissingSectionArgs &out);
void read(const toml::node &n, const Where &w, data::MotionBlurArgs &out);
void read(const toml::node &n, const Where &w, ScheduleSpec &out);

template <class T>
void read(const toml::node &n, const Where &w, std::vector<T> &out) {
  const toml::array *a = n.as_array();
  if (!a)
    bad(n, w, "an array");
  out.clear();
  for (std::size_t i = 0; i < a->size(); ++i) {
    T v{};
    read((*a)[i], w.child(std::to_string(i)), v);
    out.push_back(std::move(v));
  }
}
template <class T, std::size_t N>
void read(const toml::node &n, const Where &w, std::array<T, N> &out) {
  const toml::array *a = n.as_array();
  if (!a || a->size() != N)
    bad(n, w, "an array of " + std::to_string(N) + " values");
  for (std::size_t i = 0; i < N; ++i)
    read((*a)[i], w.child(std::to_string(i)), out[i]);
}
template <class T>
void read(const toml::node &n, const Where &w, std::optional<T> &out) {
  T v{};
  if (out)
    v = *out;
  read(n, w, v);
  out = std::move(v);
}
/// Tables of numbers merge into the map (so --set changes one key).
void read(const toml::node &n, const Where &w,
          std::map<std::string, double> &out) {
  const toml::table *t = n.as_table();
  if (!t)
    bad(n, w, "a table of numbers");
  for (auto &&[k, v] : *t)
    read(v, w.child(std::string(k.str())), out[std::string(k.str())]);
}

// Writers.
void emit(toml::array &a, bool v) { a.push_back(v); }
void emit(toml::array &a, int64_t v) { a.push_back(v); }
void emit(toml::array &a, uint64_t v) { a.push_back(static_cast<int64_t>(v)); }
void emit(toml::array &a, double v) { a.push_back(v); }
void emit(toml::array &a, const std::string &v) { a.push_back(v); }
void emit(toml::array &a, const H5File &v) {
  a.push_back(toml::array{v.first, v.second});
}
template <class T> void emit(toml::array &a, const std::vector<T> &v);
template <class T, std::size_t N>
void emit(toml::array &a, const std::array<T, N> &v);

template <class T> toml::array toArray(const T &range) {
  toml::array a;
  for (const auto &x : range)
    emit(a, x);
  return a;
}
template <class T> void emit(toml::array &a, const std::vector<T> &v) {
  a.push_back(toArray(v));
}
template <class T, std::size_t N>
void emit(toml::array &a, const std::array<T, N> &v) {
  a.push_back(toArray(v));
}

void put(toml::table &t, const std::string &k, bool v) {
  t.insert_or_assign(k, v);
}
void put(toml::table &t, const std::string &k, int64_t v) {
  t.insert_or_assign(k, v);
}
void put(toml::table &t, const std::string &k, uint64_t v) {
  t.insert_or_assign(k, static_cast<int64_t>(v));
}
void put(toml::table &t, const std::string &k, double v) {
  t.insert_or_assign(k, v);
}
void put(toml::table &t, const std::string &k, const std::string &v) {
  t.insert_or_assign(k, v);
}
template <class T>
void put(toml::table &t, const std::string &k, const std::vector<T> &v) {
  t.insert_or_assign(k, toArray(v));
}
template <class T, std::size_t N>
void put(toml::table &t, const std::string &k, const std::array<T, N> &v) {
  t.insert_or_assign(k, toArray(v));
}
void put(toml::table &t, const std::string &k,
         const std::map<std::string, double> &v) {
  toml::table m;
  for (const auto &[key, value] : v)
    m.insert_or_assign(key, value);
  t.insert_or_assign(k, std::move(m));
}
template <class S> toml::table writeStruct(const S &s);
template <class S>
auto put(toml::table &t, const std::string &k, const S &s)
    -> decltype(writeStruct(s), void()) {
  t.insert_or_assign(k, writeStruct(s));
}
template <class T>
void put(toml::table &t, const std::string &k, const std::optional<T> &v) {
  if (v)
    put(t, k, *v);
}

/// The fields of one struct: name, reader, writer.
template <class S> struct Fields {
  struct Field {
    std::string name;
    std::function<void(S &, const toml::node &, const Where &)> read;
    std::function<void(const S &, toml::table &)> write;
  };
  std::vector<Field> list;

  template <class T> Fields &add(const char *name, T S::*member) {
    std::string key = name;
    list.push_back({key,
                    [member](S &s, const toml::node &n, const Where &w) {
                      read(n, w, s.*member);
                    },
                    [member, key](const S &s, toml::table &t) {
                      put(t, key, s.*member);
                    }});
    return *this;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const Field &f : list)
      out.push_back(f.name);
    return out;
  }
};

template <class S> const Fields<S> &fields();

template <> const Fields<ModelLoadOptions> &fields() {
  static const auto f =
      Fields<ModelLoadOptions>()
          .add("override_mfp_to_active",
               &ModelLoadOptions::override_mfp_to_active)
          .add("imposed_patch_size", &ModelLoadOptions::imposed_patch_size)
          .add("imposed_batch_size", &ModelLoadOptions::imposed_batch_size)
          .add("name", &ModelLoadOptions::name);
  return f;
}
template <> const Fields<data::WarpArgs> &fields() {
  using W = data::WarpArgs;
  static const auto f = Fields<W>()
                            .add("warp_amount", &W::warp_amount)
                            .add("sample_aniso", &W::sample_aniso)
                            .add("lock_z", &W::lock_z)
                            .add("no_x_flip", &W::no_x_flip)
                            .add("perspective", &W::perspective);
  return f;
}
template <> const Fields<data::BlobArgs> &fields() {
  using B = data::BlobArgs;
  static const auto f = Fields<B>()
                            .add("num_blob_range", &B::num_blob_range)
                            .add("blob_size_range", &B::blob_size_range)
                            .add("diffuseness", &B::diffuseness)
                            .add("noise_range", &B::noise_range)
                            .add("value", &B::value);
  return f;
}
template <> const Fields<data::ElasticArgs> &fields() {
  using E = data::ElasticArgs;
  static const auto f =
      Fields<E>().add("spacing", &E::spacing).add("magnitude", &E::magnitude);
  return f;
}
template <> const Fields<data::MisalignArgs> &fields() {
  using M = data::MisalignArgs;
  static const auto f = Fields<M>()
                            .add("max_shift", &M::max_shift)
                            .add("slip_ratio", &M::slip_ratio);
  return f;
}
template <> const Fields<data::MissingSectionArgs> &fields() {
  using M = data::MissingSectionArgs;
  static const auto f =
      Fields<M>().add("max_sections", &M::max_sections).add("value", &M::value);
  return f;
}
template <> const Fields<data::MotionBlurArgs> &fields() {
  using M = data::MotionBlurArgs;
  static const auto f = Fields<M>()
                            .add("max_sections", &M::max_sections)
                            .add("length_range", &M::length_range);
  return f;
}
template <> const Fields<PreviewKwargs> &fields() {
  static const auto f = [] {
    Fields<PreviewKwargs> f;
    f.add("number", &PreviewKwargs::number)
        .add("max_z_pred", &PreviewKwargs::max_z_pred);
    // export_class: "all", 1, "1", [1, 2], "malis", "affinity".
    f.list.push_back(
        {"export_class",
         [](PreviewKwargs &p, const toml::node &n, const Where &w) {
           if (n.is_string()) {
             p.export_class = n.as_string()->get();
           } else if (n.is_integer()) {
             p.export_class = std::to_string(n.as_integer()->get());
           } else {
             std::vector<int64_t> classes;
             read(n, w, classes);
             p.export_class.clear();
             for (int64_t c : classes)
               p.export_class +=
                   (p.export_class.empty() ? "" : ",") + std::to_string(c);
           }
         },
         [](const PreviewKwargs &p, toml::table &t) {
           t.insert_or_assign("export_class", p.export_class);
         }});
    return f;
  }();
  return f;
}
template <> const Fields<BatchCreatorOptions> &fields() {
  using B = BatchCreatorOptions;
  static const auto f = Fields<B>()
                            .add("d_path", &B::d_path)
                            .add("l_path", &B::l_path)
                            .add("d_files", &B::d_files)
                            .add("l_files", &B::l_files)
                            .add("cube_prios", &B::cube_prios)
                            .add("valid_cubes", &B::valid_cubes)
                            .add("border_mode", &B::border_mode)
                            .add("aniso_factor", &B::aniso_factor)
                            .add("target_vec_ix", &B::target_vec_ix)
                            .add("target_discrete_ix", &B::target_discrete_ix)
                            .add("h5stream", &B::h5stream)
                            .add("zxy", &B::zxy)
                            .add("mean", &B::mean)
                            .add("std", &B::std)
                            .add("seed", &B::seed);
  return f;
}
template <> const Fields<GetBatchOptions> &fields() {
  using G = GetBatchOptions;
  static const auto f = [] {
    Fields<G> f;
    f.add("grey_augment_channels", &G::grey_augment_channels);
    // ELEKTRONN2's `warp = True` means always.
    f.list.push_back(
        {"warp",
         [](G &g, const toml::node &n, const Where &w) {
           if (n.is_boolean())
             g.warp = n.as_boolean()->get() ? 1.0 : 0.0;
           else
             read(n, w, g.warp);
         },
         [](const G &g, toml::table &t) { put(t, "warp", g.warp); }});
    f.add("warp_args", &G::warp_args)
        .add("ignore_thresh", &G::ignore_thresh)
        .add("force_dense", &G::force_dense)
        .add("affinities", &G::affinities)
        .add("nhood_targets", &G::nhood_targets)
        .add("nhood", &G::nhood)
        .add("ret_ll_mask", &G::ret_ll_mask)
        .add("nga_blur_noise_probability", &G::nga_blur_noise_probability)
        .add("blurry_blobs_probability", &G::blurry_blobs_probability)
        .add("blurry_blobs_args", &G::blurry_blobs_args)
        .add("uniform_random_erasing_probability",
             &G::uniform_random_erasing_probability)
        .add("uniform_random_erasing_args", &G::uniform_random_erasing_args)
        .add("noisy_random_erasing_probability",
             &G::noisy_random_erasing_probability)
        .add("noisy_random_erasing_args", &G::noisy_random_erasing_args)
        .add("elastic_probability", &G::elastic_probability)
        .add("elastic_args", &G::elastic_args)
        .add("misalignment_probability", &G::misalignment_probability)
        .add("misalignment_args", &G::misalignment_args)
        .add("missing_section_probability", &G::missing_section_probability)
        .add("missing_section_args", &G::missing_section_args)
        .add("motion_blur_probability", &G::motion_blur_probability)
        .add("motion_blur_args", &G::motion_blur_args);
    return f;
  }();
  return f;
}

/// Sets the fields `n` names; an unknown key is an error naming the closest.
template <class S>
void readStruct(const toml::node &n, const Where &w, S &s,
                const std::string &hint = "") {
  const toml::table *t = n.as_table();
  if (!t)
    bad(n, w, "a table");
  const Fields<S> &f = fields<S>();
  for (auto &&[k, v] : *t) {
    std::string key(k.str());
    auto it =
        std::find_if(f.list.begin(), f.list.end(),
                     [&](const auto &field) { return field.name == key; });
    if (it == f.list.end()) {
      std::string at = w.source;
      if (v.source().begin.line)
        at += ", line " + std::to_string(v.source().begin.line);
      throw ValueError(at + ": unknown option '" + w.child(key).key +
                       "'; did you mean '" + closest_name(key, f.names()) +
                       "'?" + hint);
    }
    it->read(s, v, w.child(key));
  }
}
template <class S> toml::table writeStruct(const S &s) {
  toml::table t;
  for (const auto &field : fields<S>().list)
    field.write(s, t);
  return t;
}

void read(const toml::node &n, const Where &w, ModelLoadOptions &out) {
  readStruct(n, w, out);
}
void read(const toml::node &n, const Where &w, PreviewKwargs &out) {
  readStruct(n, w, out);
}
void read(const toml::node &n, const Where &w, BatchCreatorOptions &out) {
  readStruct(n, w, out);
}
void read(const toml::node &n, const Where &w, GetBatchOptions &out) {
  const toml::table *t = n.as_table();
  if (t && (t->contains("batch_size") || t->contains("source")))
    throw ValueError(w.source + ": '" + w.key +
                     "' must not hold batch_size or source (the trainer sets "
                     "them: batch_size is a top-level name)");
  readStruct(n, w, out);
}
void read(const toml::node &n, const Where &w, data::WarpArgs &out) {
  readStruct(n, w, out);
}
void read(const toml::node &n, const Where &w, data::BlobArgs &out) {
  readStruct(n, w, out);
}
void read(const toml::node &n, const Where &w, data::ElasticArgs &out) {
  readStruct(n, w, out);
}
void read(const toml::node &n, const Where &w, data::MisalignArgs &out) {
  readStruct(n, w, out);
}
void read(const toml::node &n, const Where &w, data::MissingSectionArgs &out) {
  readStruct(n, w, out);
}
void read(const toml::node &n, const Where &w, data::MotionBlurArgs &out) {
  readStruct(n, w, out);
}

/// {dec = f} | {lindec = [n, v0]} | {updates = [[step, value], ...]}.
void read(const toml::node &n, const Where &w, ScheduleSpec &out) {
  const toml::table *t = n.as_table();
  if (!t || t->size() != 1)
    bad(n, w, "a table with one of dec, lindec, updates");
  auto &&[k, v] = *t->begin();
  out = ScheduleSpec{};
  out.kind = std::string(k.str());
  Where at = w.child(out.kind);
  if (out.kind == "dec") {
    read(v, at, out.factor);
  } else if (out.kind == "lindec") {
    const toml::array *a = v.as_array();
    if (!a || a->size() != 2)
      bad(v, at, "[n_steps, initial value]");
    read((*a)[0], at.child("0"), out.n_steps);
    read((*a)[1], at.child("1"), out.init_val);
  } else if (out.kind == "updates") {
    const toml::array *a = v.as_array();
    if (!a)
      bad(v, at, "an array of [step, value]");
    for (std::size_t i = 0; i < a->size(); ++i) {
      const toml::array *pair = (*a)[i].as_array();
      Where pw = at.child(std::to_string(i));
      if (!pair || pair->size() != 2)
        bad((*a)[i], pw, "a [step, value] pair");
      int64_t step = 0;
      read((*pair)[0], pw.child("0"), step);
      std::vector<double> value;
      if ((*pair)[1].is_array())
        read((*pair)[1], pw.child("1"), value);
      else
        read((*pair)[1], pw.child("1"), value.emplace_back());
      out.updates.emplace_back(step, std::move(value));
    }
  } else {
    throw ValueError(w.source + ": '" + w.key + "': unknown schedule kind '" +
                     out.kind + "' (expected dec, lindec or updates)");
  }
}

toml::table writeSchedule(const ScheduleSpec &s) {
  toml::table t;
  if (s.kind == "dec") {
    t.insert_or_assign("dec", s.factor);
  } else if (s.kind == "lindec") {
    t.insert_or_assign("lindec", toml::array{s.n_steps, s.init_val});
  } else {
    toml::array updates;
    for (const auto &[step, value] : s.updates) {
      toml::array pair{step};
      if (value.size() == 1)
        pair.push_back(value[0]);
      else
        pair.push_back(toArray(value));
      updates.push_back(std::move(pair));
    }
    t.insert_or_assign("updates", std::move(updates));
  }
  return t;
}

template <> const Fields<ExperimentConfig> &fields() {
  using C = ExperimentConfig;
  static const auto f = [] {
    Fields<C> f;
    f.add("save_name", &C::save_name)
        .add("save_path", &C::save_path)
        .add("model_load_path", &C::model_load_path)
        .add("model_load_args", &C::model_load_args)
        .add("batch_size", &C::batch_size);
    // A path, or [path, key] (ELEKTRONN2's tuple).
    f.list.push_back({"preview_data_path",
                      [](C &c, const toml::node &n, const Where &w) {
                        if (n.is_array()) {
                          H5File pk;
                          read(n, w, pk);
                          c.preview_data_path = pk.first;
                          c.preview_data_key = pk.second;
                        } else {
                          read(n, w, c.preview_data_path);
                          c.preview_data_key.clear();
                        }
                      },
                      [](const C &c, toml::table &t) {
                        if (c.preview_data_path.empty())
                          return;
                        if (c.preview_data_key.empty())
                          put(t, "preview_data_path", c.preview_data_path);
                        else
                          t.insert_or_assign("preview_data_path",
                                             toml::array{c.preview_data_path,
                                                         c.preview_data_key});
                      }});
    f.add("preview_kwargs", &C::preview_kwargs)
        .add("data_class", &C::data_class)
        .add("data_init_kwargs", &C::data_init_kwargs)
        .add("data_batch_args", &C::data_batch_args)
        .add("n_steps", &C::n_steps)
        .add("max_runtime", &C::max_runtime)
        .add("history_freq", &C::history_freq)
        .add("monitor_batch_size", &C::monitor_batch_size)
        .add("optimiser", &C::optimiser)
        .add("optimiser_params", &C::optimiser_params);
    f.list.push_back({"schedules",
                      [](C &c, const toml::node &n, const Where &w) {
                        const toml::table *t = n.as_table();
                        if (!t)
                          bad(n, w, "a table of variable = {kind = ...}");
                        for (auto &&[k, v] : *t) {
                          std::string var(k.str());
                          read(v, w.child(var), c.schedules[var]);
                        }
                      },
                      [](const C &c, toml::table &t) {
                        if (c.schedules.empty())
                          return;
                        toml::table s;
                        for (const auto &[var, spec] : c.schedules)
                          s.insert_or_assign(var, writeSchedule(spec));
                        t.insert_or_assign("schedules", std::move(s));
                      }});
    f.add("class_weights", &C::class_weights)
        .add("plot_on", &C::plot_on)
        .add("print_status", &C::print_status)
        .add("param_save_it", &C::param_save_it)
        .add("initial_prev_h", &C::initial_prev_h)
        .add("prev_save_h", &C::prev_save_h)
        .add("background_processes", &C::background_processes)
        .add("seed", &C::seed);
    return f;
  }();
  return f;
}

/// Names ELEKTRONN2 accepts that change nothing here, and why.
const std::map<std::string, std::string> &ignoredNames() {
  static const std::map<std::string, std::string> names = {
      {"lr_schedule", "unused in ELEKTRONN2 too; use schedules"},
      {"wd_schedule", "unused in ELEKTRONN2 too; use schedules"},
      {"mom_schedule", "unused in ELEKTRONN2 too; use schedules"},
      {"dropout_schedule", "unused in ELEKTRONN2 too; use schedules"},
      {"gradnet_schedule", "unused in ELEKTRONN2 too"},
      {"lazy_labels", "unused in ELEKTRONN2 too"},
      {"sequence_training", "unused in ELEKTRONN2 too"},
      {"overwrite", "an existing save directory is never deleted; continue "
                    "it with --resume or choose another save_name"},
      {"device", "the CPU is used"},
      {"param_save_h", "unused in ELEKTRONN2 too; use param_save_it"},
      {"time_per_step_smoothing_length", "fixed at 50"},
      {"loss_smoothing_length", "fixed at 200"},
      {"backupsrc", "no source archive is written"},
      {"gui_plot", "plots are PNG files"},
      {"use_manual_cudnn_conv", "Theano only"},
      {"use_manual_cudnn_conv_not_w1", "Theano only"},
      {"use_manual_cudnn_pool", "Theano only"},
      {"allow_floatX_downcast", "Theano only"},
      {"use_ortho_init", "not supported"},
      {"inspection", "not supported"},
  };
  return names;
}

void readConfig(const toml::table &doc, const std::string &source,
                ExperimentConfig &c, bool warnUnknown) {
  const Fields<ExperimentConfig> &f = fields<ExperimentConfig>();
  std::vector<std::pair<std::string, std::string>> unknown;
  for (auto &&[k, v] : doc) {
    std::string key(k.str());
    auto it =
        std::find_if(f.list.begin(), f.list.end(),
                     [&](const auto &field) { return field.name == key; });
    if (it != f.list.end()) {
      it->read(c, v, Where{source, key});
    } else if (auto ig = ignoredNames().find(key); ig != ignoredNames().end()) {
      log_warning("Config '" + key + "' has no effect: " + ig->second + ".");
    } else if (warnUnknown) {
      unknown.emplace_back(key, closest_name(key, config_names()));
    } else {
      throw ValueError(source + ": unknown name '" + key + "'; did you mean '" +
                       closest_name(key, config_names()) + "'?");
    }
  }
  if (!unknown.empty()) {
    log_warning("Unknown config variables have been found:");
    for (const auto &[key, suggestion] : unknown)
      log_warning("\"" + key + "\":\tbest match: \"" + suggestion + "\"?");
  }
}

toml::table parseToml(const std::string &text, const std::string &source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error &e) {
    throw ValueError(source + ", line " +
                     std::to_string(e.source().begin.line) + ": " +
                     std::string(e.description()));
  }
}

} // namespace

const std::vector<std::string> &config_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = fields<ExperimentConfig>().names();
    n.push_back("create_model");
    for (const auto &[name, why] : ignoredNames())
      n.push_back(name);
    return n;
  }();
  return names;
}

ExperimentConfig ExperimentConfig::from_toml(const std::string &text,
                                             const std::string &source) {
  ExperimentConfig c;
  c.config_file = source;
  readConfig(parseToml(text, source), source, c, /*warnUnknown=*/true);
  return c;
}

ExperimentConfig ExperimentConfig::from_toml_file(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    throw IOError("cannot read the config file '" + path +
                  "': " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  return from_toml(text.str(), path);
}

std::string ExperimentConfig::to_toml() const {
  std::ostringstream out;
  out << writeStruct(*this) << "\n";
  return out.str();
}

void ExperimentConfig::set(const std::string &assignment) {
  std::size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ValueError("--set '" + assignment + "': expected name=value");
  std::string name = assignment.substr(0, eq);
  name.erase(name.find_last_not_of(" \t") + 1);
  static const std::set<std::string> shorthands = {"lr", "mom", "wd", "beta2"};
  if (shorthands.count(name))
    name = "optimiser_params." + name;
  static const std::set<std::string> changeable = {
      "max_runtime",         "n_steps",       "history_freq",
      "monitor_batch_size",  "param_save_it", "initial_prev_h",
      "prev_save_h",         "plot_on",       "print_status",
      "background_processes"};
  bool optimiserParam = name.rfind("optimiser_params.", 0) == 0 &&
                        shorthands.count(name.substr(17));
  if (!changeable.count(name) && !optimiserParam) {
    std::vector<std::string> valid(changeable.begin(), changeable.end());
    for (const std::string &s : shorthands)
      valid.push_back(s);
    throw ValueError("--set '" + name +
                     "': cannot be changed when resuming; changeable are " +
                     "max_runtime, n_steps, history_freq, monitor_batch_size, "
                     "param_save_it, initial_prev_h, prev_save_h, plot_on, "
                     "print_status, background_processes and lr, mom, wd, "
                     "beta2 (did you mean '" +
                     closest_name(name, valid) + "'?)");
  }
  std::string doc = name + " = " + assignment.substr(eq + 1);
  readConfig(parseToml(doc, "--set " + assignment), "--set " + assignment,
             *this, /*warnUnknown=*/false);
}

} // namespace nm
