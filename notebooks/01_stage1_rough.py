# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,jupyter,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Stage 1: rough training on every class
#
# The first stage of Li et al.'s strategy is plain training: cross-entropy on **every chip of
# every class**, drawn as they come (instance-balanced sampling). It is the stage that learns
# the features, and it is what most classifiers stop at. On a long-tailed set it learns a
# biased classifier: the head classes dominate the loss, so chips of rare classes are pulled
# towards the head, above all towards class 0 (*sedan*, three quarters of MAVOC). Stages 2
# and 3 exist to undo that bias; this notebook shows it.
#
# The **stage panel** below sets the epochs, the learning rate and the sampler. **Run**
# trains in the background (the notebook stays usable), the plot follows the loss and the
# validation accuracy, **Stop** ends the training at the next step and keeps a checkpoint.
# The run lives in `RUN_DIR/three_stage`, where notebooks 02 and 03 find it.

# %% [markdown]
# ## What to look for
# - The **per-class bars**: a stage that has learnt only the class prior calls almost every chip
#   a sedan (class 0 near 100 %, every other class near 0, balanced accuracy near 10 %, chance
#   for ten classes). At the shipped quick settings (six epochs of a narrow network) stage 1 can
#   end exactly there; **Try** below shows what more epochs change.
# - The **framed column** of the confusion matrix (predicted class 0): every tail row that lights
#   up there is a chip pulled into the head.
# - The **validation curve**: whether the balanced accuracy leaves 10 % at all within the epochs
#   given.

# %% tags=["parameters"]
DATA = "synthetic"        # or "mstar:/path/to/MSTAR", "mavoc:/path/to/MAVOC", "folder:/path"
TEST = None               # real data only: a labelled test set (default: a stratified quarter of DATA)
PROFILE = "auto"          # long-tail profile of DATA: "auto" makes balanced sets (MSTAR) exponential
RATIO = 50.0              # imbalance ratio of that profile
SCALE = 0.01              # synthetic only: MAVOC's class counts times SCALE (about 2,900 chips)
TEST_PER_CLASS = 40       # synthetic only: chips per class of the balanced test set
SEED = 0
WIDTH = 8                 # channels of the network's first layer (16 in the full recipe)
ROUGH_EPOCHS = 6
ROUGH_LR = 0.05
ROUGH_SAMPLER = "instance"
RUN_DIR = "runs"          # the notebooks share the run RUN_DIR/three_stage
FIGURES = ""              # a folder: every figure is also saved there as PNG, SVG and PDF

# %%
from sartail.report import figures as plots
from sartail.ui import notebook as nb, widgets

P = nb.params(globals())  # SARTAIL_NB_<NAME> environment variables override the parameters above
P

# %%
run = nb.open_run(nb.make_config("three_stage", P), f"{RUN_DIR}/three_stage")

# %% [markdown]
# ## The stage panel
# Change the settings, then click **Run**. A stage already trained with the same settings is
# not trained again; changing them trains it anew (and drops the later stages of the run).

# %%
panel = widgets.StagePanel(run, "rough", epochs=ROUGH_EPOCHS, lr=ROUGH_LR, sampler=ROUGH_SAMPLER)
nb.stage_yaml(run, "rough", panel.changes())  # a stage is data: the config Run trains with the panel's settings

# %%
panel

# %% [markdown]
# The cells below need the trained stage. `panel.train()` waits for a training started with
# **Run**, or starts one with the panel's settings (that is what *Run all* does); it does
# nothing if the stage is trained already. Interrupting the kernel (■) stops it cleanly too.

# %%
panel.train();

# %% [markdown]
# ## How did it train?

# %%
nb.publish(nb.training_curves(run, ["rough"]), "stage1_curves", P)

# %% [markdown]
# ## Test accuracy per class
# The test set is balanced (the same number of chips in every class), so top-1 accuracy and
# **balanced** accuracy (the mean of the per-class accuracies) are the same number here: a
# model that calls every chip a sedan scores 10 % on both. On a test set as imbalanced as the
# training set, top-1 would look fine because the head is right; the per-class bars and the
# few-shot accuracy show where the tail stands.

# %%
results = nb.stage_results(run, ["rough"])
nb.accuracy_table(results)

# %%
nb.publish(plots.stage_comparison(results, labels=nb.stage_labels(results), title="Stage 1: per-class test accuracy"),
           "stage1_per_class", P)

# %% [markdown]
# ## Where do the tail chips go?
# Rows are the true classes, columns the predictions, each row in % of its chips. The framed
# column is class 0: the tail rows light up there.

# %%
nb.publish(nb.confusion(results, "rough", head=0), "stage1_confusion", P)

# %%
nb.tail_report(results, "rough", head=0)

# %% [markdown]
# ## Questions
# 1. On this balanced test set, top-1 and balanced accuracy are the same number. Why? On a test
#    set as imbalanced as the training set, which of the two would be higher for this model?
# 2. Which classes lose most of their chips to class 0, and how many training chips do they
#    have (the numbers under the bars)?
# 3. Stages 2 and 3 keep the features stage 1 learnt. What does that ask of stage 1?

# %% [markdown]
# **Try:** set `ROUGH_EPOCHS = 20` (in the parameters cell, or the panel's epochs) and train stage 1
# again. Does it get beyond the class prior? (Changing stage 1 drops stages 2 and 3 of the
# shared run: notebooks 02 and 03 then train them again.)
#
# The answer is in the collapsed cell below: click it to open it.

# %% [markdown] jupyter={"source_hidden": true}
# **Answer.** Measured on the synthetic default (seed 0, one CPU thread): after 6 epochs stage 1 called
# every test chip a sedan (balanced accuracy 10.0 %); after 20 epochs it reached 21.0 %:
# sedan 95 %, SUV 60 %, pickup truck 32.5 %, van 22.5 %, and still 0 % on the six classes with
# 15 training chips or fewer. The head classes are learnt first, the tail not at all. Longer
# training is the first remedy for a model that has learnt nothing but the prior; the stages
# that follow address the bias of a model that has learnt something.

# %% [markdown]
# **Next:** `02_stage2_residual` removes class 0 and goes on training the features on the rest.
