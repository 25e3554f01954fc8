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
# # 05 · What the model sees: saliency on SAR chips and the error gallery
#
# A SAR chip holds three things: the **target** (bright radar returns), its **shadow** (the
# dark area behind it, where the radar cannot see) and the **clutter** (the ground around).
# Classifiers of MSTAR chips have been reported to lean on the clutter, which says nothing
# about the vehicle. This notebook asks each stage of the shared `three_stage` run where it
# looks, with two attribution methods from captum: **Grad-CAM** (gradients of the class score
# on the deepest feature map that still has room for detail) and **occlusion** (how much the
# class score drops when a patch of the chip is greyed out; no gradients). The kit segments
# every chip into target / shadow / clutter and reports the share of positive attribution on
# each. Last, the **error gallery** shows which chips of a tail class fail, what they are
# taken for, beside chips of both classes that the model gets right.
#
# The run comes from notebooks 01 to 03 (`RUN_DIR/three_stage`); opened alone, this notebook
# trains it first at the notebooks' quick settings.

# %% [markdown]
# ## What to look for
# - Under each map, the share of positive attribution on target / shadow / clutter, against
#   each region's share of the chip's area (the clutter check's hatched bars): a model that uses
#   the vehicle puts more on the target than the target's share of the area.
# - Whether stage 1 and the final stage look at different places on the same chip.
# - In the error gallery: whether a misclassified chip looks like the class it was taken for.
# - At the shipped quick settings the models have learnt little (notebook 01): read the maps as
#   a demonstration of the tools, and ask the questions of a model that has learnt more.

# %% tags=["parameters"]
DATA = "synthetic"        # or "mstar:/path/to/MSTAR", "mavoc:/path/to/MAVOC", "folder:/path"
TEST = None               # real data only: a labelled test set (default: a stratified quarter of DATA)
PROFILE = "auto"          # long-tail profile of DATA: "auto" makes balanced sets (MSTAR) exponential
RATIO = 50.0              # imbalance ratio of that profile
SCALE = 0.01              # synthetic only: MAVOC's class counts times SCALE (about 2,900 chips)
TEST_PER_CLASS = 40       # synthetic only: chips per class of the balanced test set
SEED = 0
WIDTH = 8                 # channels of the network's first layer (16 in the full recipe)
ROUGH_EPOCHS = 6          # the epochs of each stage: used only if the run is not in RUN_DIR yet
RESIDUAL_EPOCHS = 4
BALANCED_EPOCHS = 2
CLASSIFIER_EPOCHS = 3
SALIENCY_CHIPS = 4        # chips shown with their attribution maps (tail classes first)
CLUTTER_CHIPS = 60        # test chips in the target / shadow / clutter check
RUN_DIR = "runs"          # the notebooks share the run RUN_DIR/three_stage
FIGURES = ""              # a folder: every figure is also saved there as PNG, SVG and PDF

# %%
from sartail.report import insight
from sartail.ui import notebook as nb

P = nb.params(globals())  # SARTAIL_NB_<NAME> environment variables override the parameters above
P

# %%
run = nb.open_run(nb.make_config("three_stage", P), f"{RUN_DIR}/three_stage")
nb.ensure_stage(run, "classifier")  # every stage: found in the run directory, or trained now

# %% [markdown]
# ## Where the model looks
# One row per chip (the rarest classes first); the chip, its segmentation (target orange,
# shadow blue) and, for stage 1 and the final stage, the Grad-CAM and occlusion maps over the
# chip. Under each map: the class it explains, the model's confidence in it and the % of
# positive attribution on target / shadow / clutter.

# %%
print("Saliency maps: Grad-CAM and occlusion")  # a heading the browser test finds
saliency = insight.saliency_report(run, ["rough", "classifier"], n=SALIENCY_CHIPS)
nb.publish(saliency.figure, "saliency", P)

# %% [markdown]
# ## Does the model look at the clutter? One call
# `clutter_report` runs both methods over test chips of every class and compares the share of
# attribution on each region with the region's share of the chip's area (hatched bars): a
# model that looked everywhere alike would match the area shares.

# %%
clutter = insight.clutter_report(run, ["rough", "classifier"], max_chips=CLUTTER_CHIPS)
print(clutter.data["classifier"].summary())
nb.publish(clutter.figure, "clutter_check", P)

# %% [markdown]
# ## The error gallery
# The misclassified test chips of the tail class with errors (framed, with the class taken and
# the confidence), beside correctly classified chips of their own class and of the class they
# were taken for.

# %%
gallery = insight.error_gallery(run, "classifier")
nb.publish(gallery.figure, "error_gallery", P)

# %% [markdown]
# **More:** `DATA = "mstar:/path"` asks the same questions of a model of real chips.

# %% [markdown]
# ## Questions
# 1. Why compare the attribution shares with the regions' area shares instead of reading the
#    shares alone?
# 2. Grad-CAM works on a coarse feature map, occlusion greys out patches. Which of the two can
#    tell the target from its shadow when they touch?
# 3. Why does the gallery show correctly classified chips of both classes beside each mistake?

# %% [markdown]
# **Try:** `insight.error_gallery(run, "rough", cls="SUV")` for stage 1's mistakes on one class.
#
# The answer is in the collapsed cell below: click it to open it.

# %% [markdown] jupyter={"source_hidden": true}
# **Answer.** If stage 1 has learnt only the class prior (notebook 01), every SUV test chip is a mistake,
# taken for sedan, and the gallery shows "none right" where correct SUV chips would be: the
# mistakes say nothing about what SUVs look like, only that the model has not learnt them. Ask
# the same of the final stage (`"classifier"`), or of a stage 1 trained longer: mistakes that go
# to a similar vehicle rather than to the head are the informative kind.
