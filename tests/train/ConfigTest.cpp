//===- ConfigTest.cpp - ExperimentConfig: names, TOML, checks, --set ------===//
#include "neuromancer/train/Config.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Log.h"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace nm;

namespace {

/// examples/neuro3d.py's configuration, in TOML.
const char *kNeuro3d = R"(
save_path = "~/neuromancer_training/"
save_name = "neuro3d"
model_load_path = "neuro3d.h5"
preview_data_path = "~/neuro_data_zxy/preview_cubes.h5"
preview_kwargs = { export_class = [1], max_z_pred = 3 }
initial_prev_h = 0.5
prev_save_h = 1.0
data_class = "BatchCreatorImage"
background_processes = 2
n_steps = 1000000
max_runtime = 604800
history_freq = 200
monitor_batch_size = 30
optimiser = "Adam"
batch_size = 1
seed = 7

[model_load_args]
imposed_patch_size = [23, 185, 185]

[data_init_kwargs]
d_path = "~/neuro_data_zxy/"
l_path = "~/neuro_data_zxy/"
d_files = [["raw_0.h5", "raw"], ["raw_1.h5", "raw"], ["raw_2.h5", "raw"]]
l_files = [["barrier_int16_0.h5", "lab"], ["barrier_int16_1.h5", "lab"],
           ["barrier_int16_2.h5", "lab"]]
aniso_factor = 2
valid_cubes = [2]

[data_batch_args]
grey_augment_channels = [0]
warp = 0.5
warp_args = { sample_aniso = true, perspective = true }

[optimiser_params]
lr = 5e-4
mom = 0.9
beta2 = 0.999
wd = 5e-5

[schedules]
lr = { dec = 0.995 }
mom = { updates = [[500, 0.8], [1000, 0.7]] }
)";

std::string warnings(const std::function<void()> &f) {
  LogCapture capture(LogLevel::Warning);
  f();
  return capture.text();
}

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST(ConfigTest, ReadsElektronn2sNames) {
  ::setenv("HOME", "/home/someone", 1);
  ExperimentConfig c = ExperimentConfig::from_toml(kNeuro3d, "neuro3d.toml");
  EXPECT_EQ(c.save_name, "neuro3d");
  EXPECT_EQ(c.model_load_path, "neuro3d.h5");
  EXPECT_EQ(c.model_load_args.imposed_patch_size,
            (std::vector<int64_t>{23, 185, 185}));
  EXPECT_EQ(c.preview_kwargs.export_class, "1");
  EXPECT_EQ(c.preview_kwargs.max_z_pred, 3);
  EXPECT_EQ(c.data_init_kwargs.d_files.size(), 3u);
  EXPECT_EQ(c.data_init_kwargs.l_files[1],
            (H5File{"barrier_int16_1.h5", "lab"}));
  EXPECT_EQ(c.data_init_kwargs.valid_cubes, (std::vector<int64_t>{2}));
  EXPECT_DOUBLE_EQ(c.data_init_kwargs.aniso_factor, 2.0);
  EXPECT_EQ(c.data_batch_args.grey_augment_channels, (std::vector<int64_t>{0}));
  EXPECT_DOUBLE_EQ(c.data_batch_args.warp, 0.5);
  EXPECT_TRUE(c.data_batch_args.warp_args.perspective);
  EXPECT_EQ(*c.n_steps, 1000000);
  EXPECT_DOUBLE_EQ(*c.max_runtime, 604800);
  EXPECT_EQ(c.optimiser, "Adam");
  EXPECT_DOUBLE_EQ(c.optimiser_params->at("lr"), 5e-4);
  EXPECT_EQ(c.background_processes, 2);
  EXPECT_EQ(c.seed, 7u);
  ASSERT_EQ(c.schedules.size(), 2u);
  EXPECT_EQ(c.schedules.at("lr").kind, "dec");
  EXPECT_DOUBLE_EQ(c.schedules.at("lr").factor, 0.995);
  EXPECT_EQ(c.schedules.at("mom").updates.size(), 2u);
  EXPECT_EQ(c.param_save_it, 10000) << "DefaultConfig value";
  EXPECT_NO_THROW(c.check());
  EXPECT_EQ(c.save_dir(), "/home/someone/neuromancer_training/neuro3d");
}

TEST(ConfigTest, TomlRoundTrip) {
  ExperimentConfig c = ExperimentConfig::from_toml(kNeuro3d, "a.toml");
  std::string text = c.to_toml();
  ExperimentConfig d = ExperimentConfig::from_toml(text, "copy.toml");
  EXPECT_EQ(d.to_toml(), text);
  EXPECT_EQ(d.data_init_kwargs.l_files, c.data_init_kwargs.l_files);
  EXPECT_EQ(d.data_batch_args, c.data_batch_args);
  EXPECT_EQ(d.schedules, c.schedules);
  EXPECT_EQ(d.preview_kwargs, c.preview_kwargs);
  EXPECT_EQ(*d.optimiser_params, *c.optimiser_params);
}

TEST(ConfigTest, UnknownNamesWarnWithTheClosestName) {
  std::string text = std::string(kNeuro3d) + "\n";
  text.insert(0, "histroy_freq = 100\nn_step = 5\n");
  std::string w;
  ExperimentConfig c;
  w = warnings([&] { c = ExperimentConfig::from_toml(text, "typo.toml"); });
  EXPECT_NE(w.find("Unknown config variables have been found:"),
            std::string::npos);
  EXPECT_NE(w.find("\"histroy_freq\":\tbest match: \"history_freq\"?"),
            std::string::npos)
      << w;
  EXPECT_NE(w.find("\"n_step\":\tbest match: \"n_steps\"?"), std::string::npos);
  EXPECT_EQ(*c.history_freq, 200) << "the typo changed nothing";
}

TEST(ConfigTest, UnknownKeywordIsAnErrorWithTheClosestName) {
  std::string text = kNeuro3d;
  text.replace(text.find("aniso_factor"), 12, "aniso_factr");
  std::string e =
      errorOf([&] { ExperimentConfig::from_toml(text, "kw.toml"); });
  EXPECT_NE(e.find("kw.toml, line "), std::string::npos) << e;
  EXPECT_NE(e.find("unknown option 'data_init_kwargs.aniso_factr'; did you "
                   "mean 'aniso_factor'?"),
            std::string::npos)
      << e;
}

TEST(ConfigTest, WrongTypesNameKeyAndLine) {
  std::string e = errorOf(
      [] { ExperimentConfig::from_toml("n_steps = \"many\"\n", "t.toml"); });
  EXPECT_EQ(e, "t.toml, line 1: 'n_steps' must be an integer");
  e = errorOf([] {
    ExperimentConfig::from_toml("[data_init_kwargs]\nd_files = [\"raw.h5\"]\n",
                                "t.toml");
  });
  EXPECT_NE(e.find("'data_init_kwargs.d_files.0' must be a [file, dataset]"),
            std::string::npos)
      << e;
  e = errorOf([] { ExperimentConfig::from_toml("n_steps = = 3\n", "s.toml"); });
  EXPECT_NE(e.find("s.toml, line 1"), std::string::npos) << e;
  e = errorOf([] {
    ExperimentConfig::from_toml("[data_batch_args]\nbatch_size = 2\n",
                                "b.toml");
  });
  EXPECT_NE(e.find("must not hold batch_size or source"), std::string::npos);
  e = errorOf([] {
    ExperimentConfig::from_toml("[schedules]\nlr = { permut = 1 }\n", "s.toml");
  });
  EXPECT_NE(e.find("unknown schedule kind 'permut'"), std::string::npos) << e;
}

TEST(ConfigTest, MandatoryValuesAreElektronn2sErrors) {
  ExperimentConfig c = ExperimentConfig::from_toml(kNeuro3d, "a.toml");
  ExperimentConfig noSteps = c;
  noSteps.n_steps.reset();
  EXPECT_EQ(errorOf([&] { noSteps.check(); }), "'n_steps' must not be 'None'");
  ExperimentConfig noOpt = c;
  noOpt.optimiser_params.reset();
  EXPECT_EQ(errorOf([&] { noOpt.check(); }),
            "'optimiser_params' must not be 'None'");
  ExperimentConfig noModel = c;
  noModel.model_load_path.clear();
  EXPECT_EQ(errorOf([&] { noModel.check(); }),
            "Invalid experiment config: one of 'create_model' or "
            "'model_load_path' must be given.");
  ExperimentConfig badOpt = c;
  badOpt.optimiser = "adam";
  EXPECT_NE(errorOf([&] { badOpt.check(); }).find("did you mean 'Adam'?"),
            std::string::npos);
  ExperimentConfig badName = c;
  badName.save_name = "../x";
  EXPECT_THROW(badName.check(), ValueError);
}

TEST(ConfigTest, OverwriteIsNeverObeyed) {
  std::string w = warnings([] {
    ExperimentConfig::from_toml(std::string(kNeuro3d) + "", "a.toml");
  });
  EXPECT_EQ(w, "");
  std::string text = "overwrite = true\n" + std::string(kNeuro3d);
  w = warnings([&] { ExperimentConfig::from_toml(text, "a.toml"); });
  EXPECT_NE(w.find("Config 'overwrite' has no effect: an existing save "
                   "directory is never deleted"),
            std::string::npos)
      << w;
}

TEST(ConfigTest, SetChangesOnlyResumableValues) {
  ExperimentConfig c = ExperimentConfig::from_toml(kNeuro3d, "a.toml");
  c.set("max_runtime=3600");
  c.set("n_steps = 50");
  c.set("lr=1e-4");
  c.set("optimiser_params.mom=0.5");
  EXPECT_DOUBLE_EQ(*c.max_runtime, 3600);
  EXPECT_EQ(*c.n_steps, 50);
  EXPECT_DOUBLE_EQ(c.optimiser_params->at("lr"), 1e-4);
  EXPECT_DOUBLE_EQ(c.optimiser_params->at("mom"), 0.5);
  EXPECT_DOUBLE_EQ(c.optimiser_params->at("wd"), 5e-5) << "others kept";
  std::string e = errorOf([&] { c.set("batch_size=4"); });
  EXPECT_NE(e.find("cannot be changed when resuming"), std::string::npos) << e;
  e = errorOf([&] { c.set("max_runtim=4"); });
  EXPECT_NE(e.find("did you mean 'max_runtime'?"), std::string::npos) << e;
  EXPECT_THROW(c.set("n_steps=ten"), ValueError);
  EXPECT_THROW(c.set("n_steps"), ValueError);
}

TEST(ConfigTest, Levenshtein) {
  EXPECT_EQ(levenshtein("kitten", "sitting"), 3u);
  EXPECT_EQ(levenshtein("", "abc"), 3u);
  EXPECT_EQ(closest_name("optimizer", config_names()), "optimiser");
}
