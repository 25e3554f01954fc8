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
# # 02 · Stage 2: residual training without the head class
#
# Stage 1 learnt features mostly from class 0. The second stage **removes the chosen head
# classes** (class 0 by default) and goes on training the whole network from the stage 1
# checkpoint on what is left, the *residual set*, at a lower learning rate. Without the head,
# the rarer classes get the network's attention, so that the features can learn to tell them
# apart (whether they do in the epochs given, the feature view at the end shows).
# The head class comes back in stage 3 (notebook 03), with its stage 1 classifier row.
#
# Below, the **class-removal picker** lists the classes with their training chips: tick the
# classes to remove. It shows what the residual set looks like, and refuses a choice that
# leaves fewer than two classes (a classifier of one class learns nothing). The stage panel
# then trains stage 2 from stage 1's checkpoint, found in `RUN_DIR/three_stage` (from
# notebook 01), or trained here first if it is not there.

# %% [markdown]
# ## What to look for
# - The **residual set** in the picker: without class 0, the second-largest class (SUV) is the
#   new head of what is left. The imbalance is smaller, but not gone.
# - **Stage 2 beside stage 1**: the removed classes are hatched, because stage 2's head has no
#   output for them. On the other classes, look at the tail, not at the average. If a single
#   class takes every chip, as class 0 did in stage 1, stage 2 has learnt the new prior and
#   little more in its few epochs.
# - The **feature view**: whether the points of the tail classes separate from each other after
#   stage 2, and the k-NN accuracy per class group under the maps, which measures the same in
#   the full feature space. The classifier is judged in notebook 03; here the features matter.

# %% tags=["parameters"]
DATA = "synthetic"        # or "mstar:/path/to/MSTAR", "mavoc:/path/to/MAVOC", "folder:/path"
TEST = None               # real data only: a labelled test set (default: a stratified quarter of DATA)
PROFILE = "auto"          # long-tail profile of DATA: "auto" makes balanced sets (MSTAR) exponential
RATIO = 50.0              # imbalance ratio of that profile
SCALE = 0.01              # synthetic only: MAVOC's class counts times SCALE (about 2,900 chips)
TEST_PER_CLASS = 40       # synthetic only: chips per class of the balanced test set
SEED = 0
WIDTH = 8                 # channels of the network's first layer (16 in the full recipe)
ROUGH_EPOCHS = 6          # used only if stage 1 is not in RUN_DIR yet
REMOVE = [0]              # the classes stage 2 removes (ticked in the picker at first)
RESIDUAL_EPOCHS = 4
RESIDUAL_LR = 0.02
FEATURE_CHIPS = 200       # test chips in the feature view
RUN_DIR = "runs"          # the notebooks share the run RUN_DIR/three_stage
FIGURES = ""              # a folder: every figure is also saved there as PNG, SVG and PDF

# %%
from sartail.report import figures as plots
from sartail.ui import notebook as nb, widgets

P = nb.params(globals())  # SARTAIL_NB_<NAME> environment variables override the parameters above
P

# %%
run = nb.open_run(nb.make_config("three_stage", P), f"{RUN_DIR}/three_stage")
nb.ensure_stage(run, "rough")  # stage 1: found in the run directory, or trained now

# %% [markdown]
# ## Which classes does stage 2 remove?
# Tick or untick classes: the summary and the histogram show the residual set.

# %%
picker = widgets.ClassRemovalPicker(run.data.train, removed=REMOVE)
picker

# %% [markdown]
# The picker's choice is plain Python state, and so is the residual set it leaves:

# %%
picker.removed, picker.residual

# %%
nb.publish(plots.chip_gallery(picker.residual, per_class=4, seed=SEED, title="The residual set"), "residual_gallery", P)

# %%
nb.sweep_button(picker, RUN_DIR)  # "add to sweep": notebook 06 also sweeps the picker's current choice

# %% [markdown]
# ## Train stage 2
# **Run** applies the picker's classes and the settings, then trains from stage 1's checkpoint.
# Stage 2 is data: its resolved config, as **Run** will train it with the picker's classes and
# the panel's settings.

# %%
panel = widgets.StagePanel(run, "residual", picker=picker, epochs=RESIDUAL_EPOCHS, lr=RESIDUAL_LR,
                           controls=("epochs", "lr"))
nb.stage_yaml(run, "residual", panel.changes())

# %%
panel

# %%
panel.train();

# %% [markdown]
# ## Stage 1 and stage 2 side by side
# Stage 2's head has no output for the removed classes (hatched): it cannot predict class 0 at
# all, so every chip goes to one of the other classes. Its bars on those classes, set against
# stage 1's, show what the removal changed; whether the changed features help the final model
# is for notebook 03 to show, once class 0 is back.

# %%
results = nb.stage_results(run, ["rough", "residual"])
nb.accuracy_table(results)

# %%
nb.publish(plots.stage_comparison(results, labels=nb.stage_labels(results), title="Stages 1 and 2: per-class test accuracy"),
           "stage12_per_class", P)

# %%
nb.publish(plots.stage_confusions(results, labels=nb.stage_labels(results)), "stage12_confusions", P)

# %% [markdown]
# ## What stage 2 did to the features
# The body's features of the same test chips after stage 1 and after stage 2, in one shared
# PCA projection and in t-SNE layouts aligned to each other (same seed). Every class has its
# own colour and marker; few-shot classes are drawn large and outlined. Under the maps: k-NN
# accuracy and the between / within-class scatter ratio in the full feature space, per class
# group: the numbers behind the picture.

# %%
from sartail.report import insight

nb.publish(insight.feature_views(run, ["rough", "residual"], max_chips=FEATURE_CHIPS).figure, "stage12_features", P)

# %% [markdown]
# ## Questions
# 1. Stage 2's balanced accuracy is the mean over the nine classes it can predict, stage 1's over
#    all ten. Why can the two not be compared directly?
# 2. Why does stage 2 go on from stage 1's checkpoint instead of starting from scratch?
# 3. If stage 2 removed the two largest classes, which class would be the new head?

# %% [markdown]
# **Try:** tick class 1 (SUV) as well as class 0 in the picker and read its summary. How many training
# chips are left, and what is the imbalance ratio of the residual set?
#
# The answer is in the collapsed cell below: click it to open it.

# %% [markdown] jupyter={"source_hidden": true}
# **Answer.** At the shipped settings (`SCALE = 0.01`, seed 0) the training split holds 2,642 chips, 2,108
# of them sedans, an imbalance ratio of about 420. Removing class 0 leaves 534 chips with a
# ratio of about 51 (SUV 253 against 5); removing classes 0 and 1 leaves 281 chips with a ratio
# of about 28 (pickup truck 138 against 5). Removing class 0 cuts the imbalance about eightfold
# but leaves a fifth of the chips; removing SUV too roughly halves both again. Fewer classes to
# tell apart, fewer chips to learn features from: that trade is what notebook 06 measures.

# %% [markdown]
# **Next:** `03_stage3_balanced` brings every class back for class-balanced fine-tuning.
