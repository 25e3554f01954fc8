# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
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
# the rarer classes get the network's attention and the features learn to tell them apart.
# The head class comes back in stage 3 (notebook 03), with its stage 1 classifier row.
#
# Below, the **class-removal picker** lists the classes with their training chips: tick the
# classes to remove. It shows what the residual set looks like, and refuses a choice that
# leaves fewer than two classes (a classifier of one class learns nothing). The stage panel
# then trains stage 2 from stage 1's checkpoint, found in `RUN_DIR/three_stage` (from
# notebook 01), or trained here first if it is not there.

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
# Stage 2 knows nothing of the removed classes (hatched): its accuracy on the other classes,
# the tail above all, is what the removal buys.

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
# PCA projection and in t-SNE layouts aligned to each other (same seed). Tail classes are the
# large triangles. Under the maps: k-NN accuracy and the between / within-class scatter ratio
# in the full feature space, per class group: the numbers behind the picture.

# %%
from sartail.report import insight

nb.publish(insight.feature_views(run, ["rough", "residual"], max_chips=FEATURE_CHIPS).figure, "stage12_features", P)

# %% [markdown]
# **Next:** `03_stage3_balanced` brings every class back for class-balanced fine-tuning.
