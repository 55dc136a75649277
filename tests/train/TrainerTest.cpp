//===- TrainerTest.cpp - the training loop, its files and its shell -------===//
#include "TrainerFixture.h"

#include "neuromancer/data/CubeReader.h"
#include "neuromancer/data/synthetic/SyntheticEm.h"

#include <atomic>
#include <csignal>
#include <regex>
#include <thread>

#include <unistd.h>

using namespace nm;
using namespace nm::testing;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines(const std::string &text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

/// TrainerOptions::after_step raising `sig` once the run's timeline holds
/// `steps` steps: the loop sees it before the next step, however fast the
/// steps are (a thread watching the timeline was outrun by warm caches).
std::function<void(int64_t)> raiseAfter(int64_t steps, int sig) {
  return [steps, sig](int64_t i) {
    if (i + 1 == steps)
      std::raise(sig);
  };
}

} // namespace

TEST_F(TrainerTest, RunWritesTheSaveDirectory) {
  Trainer t(config(), {.interactive = false});
  EXPECT_EQ(t.run(), TrainerExit::Finished);
  EXPECT_EQ(t.steps_done(), 31) << "ELEKTRONN2's i runs from -1 to n_steps";
  for (const char *f :
       {"0-run.toml", "0-run.log", "history.csv", "run-LAST.h5", "run-FINAL.h5",
        "run-BEST.h5", "Backup/run.timeline", "0-run.timeline.png",
        "0-run.history.png", "Batch_test_image.png", "1-model-graph.png",
        "1-model-graph.html"})
    EXPECT_TRUE(fs::exists(dir() + "/" + f)) << f;
  // One history row per history_freq steps: i = 0, 10, 20, 30.
  std::vector<std::string> csv = lines(slurp(dir() + "/history.csv"));
  ASSERT_EQ(csv.size(), 5u);
  EXPECT_EQ(csv[0].substr(0, 38), "step,time,train_loss,valid_loss,loss_g");
  EXPECT_EQ(csv[4].substr(0, 3), "30,");
  ASSERT_EQ(t.record().history.size(), 4u);
  const HistoryRow &last = t.record().history.back();
  EXPECT_LT(last.train_loss, t.record().history.front().train_loss)
      << "the loss went down";
  EXPECT_TRUE(last.valid_f1 >= 0 && last.valid_f1 <= 1) << last.valid_f1;
  EXPECT_EQ(t.record().timeline.size(), 31u);
  EXPECT_EQ(fs::file_size(dir() + "/Backup/run.timeline"), 31u * 32);
  // The history log line, ELEKTRONN2's format.
  std::string log = slurp(dir() + "/0-run.log");
  std::regex line(
      R"(\[\d\d:\d\d\] \[INFO\]\t00030 L_m=\d+\.\d{3}, L=\d+\.\d\d, )"
      R"(tr=\d\d\.\d\d%, vl=\d\d\.\d\d%, prev=\d\d\.\d, )"
      R"(L_diff=[+-]\d\.\de[+-]\d\d, LR=\d\.\d\de[+-]\d\d, )"
      R"(\d+\.\d\d it/s, \d+\.\d\d MVx/s, t=\d+s)");
  EXPECT_TRUE(std::regex_search(log, line)) << log;
  // The config copy reads back as the same config.
  ExperimentConfig copy =
      ExperimentConfig::from_toml_file(config_copy_path(dir()));
  EXPECT_EQ(copy.to_toml(), slurp(config_copy_path(dir())));
  EXPECT_EQ(*copy.n_steps, 30);
}

TEST_F(TrainerTest, RefusesAnExistingDirectoryAndWritesNothing) {
  fs::create_directories(dir());
  {
    std::ofstream keep(dir() + "/mine.txt");
    keep << "precious";
  }
  try {
    Trainer t(config());
    FAIL() << "started in an existing directory";
  } catch (const ValueError &e) {
    EXPECT_NE(std::string(e.what()).find("already exists; nothing was "
                                         "changed"),
              std::string::npos);
  }
  std::vector<fs::path> entries(fs::directory_iterator(dir()), {});
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(slurp(dir() + "/mine.txt"), "precious");
}

TEST_F(TrainerTest, BadConfigsWriteNothing) {
  ExperimentConfig missing = config();
  missing.data_init_kwargs.d_files[1].first = "nope.h5";
  EXPECT_THROW(Trainer(missing, {}), Error);
  ExperimentConfig badBs = config();
  badBs.batch_size.reset();
  EXPECT_THROW(Trainer(badBs, {}), ValueError);
  ExperimentConfig badSchedule = config();
  badSchedule.schedules["learning_rate"] = {.kind = "dec", .factor = 0.5};
  try {
    Trainer t(badSchedule, {});
    FAIL();
  } catch (const ValueError &e) {
    EXPECT_NE(std::string(e.what()).find("'learning_rate' is neither a model "
                                         "property (lr, mom, wd, beta2"),
              std::string::npos)
        << e.what();
  }
  ExperimentConfig noModelFile = config();
  noModelFile.create_model = nullptr;
  noModelFile.model_load_path = root_ + "/data/raw_0.h5"; // not a model
  EXPECT_THROW(Trainer(noModelFile, {}), IOError);
  ExperimentConfig badGeometry = config();
  badGeometry.create_model = []() -> Model & {
    Model &m = model_manager.newmodel();
    Node inp = Input({None, 1, 3, 60, 60}, "b,f,z,x,y", {.name = "raw"});
    Node pred =
        Softmax(Conv(inp, 2, {1, 3, 3}, {}, {.activation_func = "lin"}));
    Node target = Input_like(pred, {.override_f = 1, .dtype = "int16"});
    Node loss =
        AggregateLoss(MultinoulliNLL(pred, target, {.target_is_sparse = true}));
    m.designate_nodes({.input_node = inp,
                       .target_node = target,
                       .loss_node = loss,
                       .prediction_node = pred});
    return m;
  }; // patch (3,60,60) larger than the (12,40,40) cubes
  EXPECT_THROW(Trainer(badGeometry, {}), Error);
  // An even field of view with pooling: ELEKTRONN2's ps - 2 * offsets gives
  // one target voxel fewer than the network puts out.
  ExperimentConfig evenFov = config();
  evenFov.create_model = []() -> Model & {
    Model &m = model_manager.newmodel();
    Node inp = Input({None, 1, 3, 20, 20}, "b,f,z,x,y", {.name = "raw"});
    Node c = Conv(inp, 4, {1, 5, 5}, {1, 2, 2});
    Node pred = Softmax(Conv(c, 2, {1, 3, 3}, {}, {.activation_func = "lin"}));
    Node target = Input_like(pred, {.override_f = 1, .dtype = "int16"});
    Node loss =
        AggregateLoss(MultinoulliNLL(pred, target, {.target_is_sparse = true}));
    m.designate_nodes({.input_node = inp,
                       .target_node = target,
                       .loss_node = loss,
                       .prediction_node = pred});
    return m;
  };
  try {
    Trainer t(evenFov, {});
    FAIL() << "an even field of view passed";
  } catch (const ValueError &e) {
    EXPECT_NE(std::string(e.what()).find("the data's targets do not fit the "
                                         "model"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(root_ + "/runs")) << "nothing may be written";
}

TEST_F(TrainerTest, ResumeWithoutCheckpointIsAnError) {
  fs::create_directories(dir());
  try {
    Trainer t(config(), {.resume = true});
    FAIL();
  } catch (const IOError &e) {
    EXPECT_NE(std::string(e.what()).find("holds no checkpoint"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(TrainerTest, ShellCommandsDrivenThroughItsInput) {
  std::istringstream in("setlr 0.125\nsethist 7\nsetlr\nsetmom abc\nbogus\n"
                        "save " +
                        root_ + "/shell.h5\nparamstats\nq\n");
  std::ostringstream out;
  ExperimentConfig c = config();
  c.n_steps = 40;
  Trainer t(c, {.interactive = true,
                .shell_in = &in,
                .shell_out = &out,
                .after_step = raiseAfter(3, SIGINT)});
  TrainerExit exit = t.run();
  EXPECT_EQ(exit, TrainerExit::Finished) << "q resumes training";
  EXPECT_EQ(t.steps_done(), 41);
  EXPECT_EQ(t.model().lr(), 0.125);
  EXPECT_EQ(*t.config().history_freq, 7);
  std::string text = out.str();
  EXPECT_NE(text.find("=== NEUROMANCER SHELL ==="), std::string::npos);
  EXPECT_NE(text.find("IndexError. Probably you forgot to type a value after "
                      "the shortcut \"setlr\"."),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ValueError. The \"setmom\" shortcut received an "
                      "unexpected argument."),
            std::string::npos);
  EXPECT_NE(text.find("Unknown command 'bogus'"), std::string::npos);
  EXPECT_TRUE(fs::exists(root_ + "/shell.h5"));
  EXPECT_FALSE(model_attachments(root_ + "/shell.h5").at("trainer").empty());
}

TEST_F(TrainerTest, KillInTheShellSavesAndStops) {
  std::istringstream in("kill\n");
  std::ostringstream out;
  Trainer t(config(), {.interactive = true,
                       .shell_in = &in,
                       .shell_out = &out,
                       .after_step = raiseAfter(2, SIGINT)});
  EXPECT_EQ(t.run(), TrainerExit::Stopped);
  EXPECT_EQ(t.steps_done(), 2);
  ASSERT_TRUE(fs::exists(dir() + "/run-FINAL.h5"));
  EXPECT_EQ(latest_checkpoint(dir(), "run"), dir() + "/run-FINAL.h5");
}

TEST_F(TrainerTest, SigtermWithoutTerminalSavesAndStops) {
  Trainer t(config(),
            {.interactive = false, .after_step = raiseAfter(4, SIGTERM)});
  EXPECT_EQ(t.run(), TrainerExit::Stopped);
  EXPECT_EQ(t.steps_done(), 4);
  EXPECT_TRUE(fs::exists(dir() + "/run-FINAL.h5"));
}

TEST_F(TrainerTest, DivergenceSavesTheLastGoodStateAndExits3) {
  ExperimentConfig c = config();
  c.optimiser = "SGD";
  c.optimiser_params =
      std::map<std::string, double>{{"lr", 1e30}, {"mom", 0.0}};
  Trainer t(c, {.interactive = false});
  EXPECT_EQ(t.run(), TrainerExit::Diverged);
  EXPECT_LT(t.steps_done(), 31);
  ASSERT_TRUE(fs::exists(dir() + "/run-LAST.h5"));
  Model &saved = modelload(dir() + "/run-LAST.h5");
  for (const auto &[node, params] : saved.get_param_values())
    for (const auto &[name, value] : params)
      for (int64_t k = 0; k < value.size(); ++k)
        ASSERT_TRUE(std::isfinite(value.getFlat(k))) << node << "." << name;
  EXPECT_EQ(saved.iterations(), t.steps_done());
}

TEST_F(TrainerTest, ResumeContinuesBitForBit) {
  // Uninterrupted: 100 steps.
  ExperimentConfig w = config("whole");
  w.n_steps = 100;
  {
    Trainer whole(w, {.interactive = false});
    ASSERT_EQ(whole.run(), TrainerExit::Finished);
  }
  // Interrupted after a checkpoint and some steps beyond it, then resumed.
  ExperimentConfig c = config("parts");
  c.n_steps = 100;
  {
    Trainer first(
        c, {.interactive = false, .after_step = raiseAfter(15, SIGTERM)});
    ASSERT_EQ(first.run(), TrainerExit::Stopped);
  }
  // What a kill -9 after a checkpoint leaves: LAST of a history step, no
  // FINAL, a timeline longer than the checkpoint's.
  fs::remove(dir("parts") + "/parts-FINAL.h5");
  {
    Trainer second(c, {.resume = true, .interactive = false});
    EXPECT_EQ((second.steps_done() - 1) % 10, 0) << second.steps_done();
    EXPECT_LT(second.steps_done(), 100);
    ASSERT_EQ(second.run(), TrainerExit::Finished);
    EXPECT_EQ(second.record().history.size(), 11u) << "no gap, no repeat";
    EXPECT_EQ(second.record().timeline.size(), 101u);
  }
  Model &a = modelload(dir("whole") + "/whole-FINAL.h5");
  ModelParamValues pa = a.get_param_values();
  Model &b = modelload(dir("parts") + "/parts-FINAL.h5");
  ModelParamValues pb = b.get_param_values();
  for (const auto &[node, params] : pa)
    for (const auto &[name, value] : params)
      EXPECT_EQ(value, pb.at(node).at(name)) << node << "." << name;
  EXPECT_EQ(a.iterations(), b.iterations());
  // The histories agree except for the times.
  auto csvA = lines(slurp(dir("whole") + "/history.csv"));
  auto csvB = lines(slurp(dir("parts") + "/history.csv"));
  ASSERT_EQ(csvA.size(), csvB.size());
  for (std::size_t r = 1; r < csvA.size(); ++r) {
    auto cut = [](const std::string &l) {
      std::size_t a = l.find(','), b = l.find(',', a + 1);
      return l.substr(0, a) + l.substr(b);
    };
    EXPECT_EQ(cut(csvA[r]), cut(csvB[r])) << "row " << r;
  }
}

TEST_F(TrainerTest, ResumeAppliesSetOverrides) {
  ExperimentConfig c = config();
  c.n_steps = 10;
  {
    Trainer t(c, {.interactive = false});
    ASSERT_EQ(t.run(), TrainerExit::Finished);
  }
  Trainer t(c, {.resume = true,
                .overrides = {"n_steps=20", "lr=0.001"},
                .interactive = false});
  EXPECT_EQ(*t.config().n_steps, 20);
  EXPECT_DOUBLE_EQ(t.model().lr(), 0.001);
  EXPECT_EQ(t.run(), TrainerExit::Finished);
  EXPECT_EQ(t.steps_done(), 21);
  EXPECT_THROW(Trainer(c, {.resume = true, .overrides = {"batch_size=3"}}),
               ValueError);
}

// The main example's promise in small: on the synthetic EM set, a small
// network trained by the trainer reaches at most half the error of always
// answering the majority class on the validation cube.
TEST_F(TrainerTest, LearnsSyntheticEmToHalfTheBaselineError) {
  std::string data = root_ + "/em";
  data::makeSyntheticData(
      data, {.seed = 0, .size = data::SyntheticSize::Small, .png = false});
  ExperimentConfig c = config("em");
  c.create_model = []() -> Model & {
    Model &m = model_manager.newmodel();
    Node inp = Input({None, 1, 5, 45, 45}, "b,f,z,x,y", {.name = "raw"});
    Node out = Conv(inp, 12, {1, 4, 4}, {1, 2, 2});
    out = Conv(out, 24, {3, 3, 3});
    out = Conv(out, 24, {1, 3, 3});
    out = Conv(out, 2, {1, 1, 1}, {}, {.activation_func = "lin"});
    Node pred = Softmax(out);
    Node target =
        Input_like(pred, {.override_f = 1, .name = "target", .dtype = "int16"});
    Node loss =
        AggregateLoss(MultinoulliNLL(pred, target, {.target_is_sparse = true}),
                      {.name = "loss"});
    Node errors = Errors(pred, target, {.target_is_sparse = true});
    m.designate_nodes({.input_node = inp,
                       .target_node = target,
                       .loss_node = loss,
                       .prediction_node = pred,
                       .prediction_ext = {loss, errors, pred}});
    return m;
  };
  c.data_init_kwargs.d_path = data;
  c.data_init_kwargs.l_path = data;
  for (int k = 0; k < 3; ++k) {
    c.data_init_kwargs.d_files[k] = {"raw_" + std::to_string(k) + ".h5", "raw"};
    c.data_init_kwargs.l_files[k] = {
        "barrier_int16_" + std::to_string(k) + ".h5", "lab"};
  }
  c.batch_size = 4;
  c.n_steps = 2000;
  c.history_freq = 500;
  c.monitor_batch_size = 200;
  c.optimiser_params = std::map<std::string, double>{{"lr", 0.003}};
  c.plot_on = false;
  Trainer t(c, {.interactive = false});
  ASSERT_EQ(t.run(), TrainerExit::Finished);
  // The baseline: the barrier fraction of the validation labels.
  data::H5Data lab =
      data::readH5(data + "/barrier_int16_2.h5", "lab", "label", true);
  double barrier = 0;
  for (double v : lab.d)
    barrier += v == 1;
  double baseline = 100 * std::min(barrier, lab.d.size() - barrier) /
                    static_cast<double>(lab.d.size());
  auto [loss, error] = t.test_model("valid");
  std::printf("valid error %.2f %% vs majority baseline %.2f %%\n", error,
              baseline);
  EXPECT_GT(baseline, 20.0);
  EXPECT_LE(error, 0.5 * baseline);
}
