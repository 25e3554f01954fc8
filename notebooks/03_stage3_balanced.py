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
# # 03 · Stage 3: balanced fine-tuning and classifier re-optimisation
#
# Stage 3 brings **every class back**. It has two steps:
#
# - **3a, balanced fine-tuning** of the whole model with class-balanced sampling (every class
#   equally likely in a batch), at a low learning rate, so that the features of stages 1 and
#   2 adapt to all classes without the head taking over again;
# - **3b, classifier re-optimisation**: the network's body is frozen and only the classifier
#   is learnt again, class-balanced, to remove the head bias the classifier still carries
#   (how much of it goes, the bars at the end show). Three ways are
#   offered (Kang et al. 2020): **cRT** (a fresh classifier, trained), **LWS** (only a scale
#   per class is learnt) and **tau-norm** (no training: the classifier's weights are
#   normalised, tau chosen on the validation set).
#
# The first cells find stages 1 and 2 in `RUN_DIR/three_stage` (notebooks 01 and 02), or
# train them here. At the end, the per-class accuracy of stages 1, 2 and 3 side by side.

# %% [markdown]
# ## What to look for
# - The **final bars against stage 1**: which classes gained and which lost. Re-balancing moves
#   accuracy from the head to the tail, so class 0 usually falls while tail classes rise; the
#   balanced accuracy says whether the trade was worth it.
# - The **confusion matrices**: whether the column of class 0 empties, and where its chips go
#   instead.
# - The **feature view**: the body is frozen in 3b, so its layout and scores must equal 3a's.

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
RESIDUAL_EPOCHS = 4       # used only if stage 2 is not in RUN_DIR yet
REMOVE = [0]              # used only if stage 2 is not in RUN_DIR yet
BALANCED_EPOCHS = 2
BALANCED_LR = 0.01
CLASSIFIER_EPOCHS = 3
METHOD = "crt"            # classifier re-optimisation: "crt", "lws" or "tau_norm"
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
nb.ensure_stage(run, "residual")  # stages 1 and 2: found in the run directory, or trained now

# %% [markdown]
# ## 3a · Balanced fine-tuning of the whole model

# %%
balanced = widgets.StagePanel(run, "balanced", epochs=BALANCED_EPOCHS, lr=BALANCED_LR)
nb.stage_yaml(run, "balanced", balanced.changes())  # a stage is data: the config Run trains with the panel's settings

# %%
balanced

# %%
balanced.train();

# %% [markdown]
# ## 3b · Classifier re-optimisation
# Choose the method; the panel below takes its settings (tau-norm trains nothing, so its
# epochs are fixed at 0).

# %%
method = widgets.RecipeChooser(["crt", "lws", "tau_norm"], METHOD, labels=nb.METHOD_LABELS)
method

# %%
classifier = widgets.StagePanel(run, "classifier", method=method, epochs=CLASSIFIER_EPOCHS, controls=("epochs", "lr"))
classifier

# %%
classifier.train();

# %% [markdown]
# ## Stages 1, 2 and 3 side by side
# The test set is scored once, now that every stage is done (`results.json` in the run).

# %%
nb.stage_yaml(run, "classifier")  # the classifier stage as the chosen method trained it

# %%
results = nb.stage_results(run)
nb.accuracy_table(results)

# %%
nb.publish(plots.stage_comparison(results, labels=nb.stage_labels(results),
                                  title="Per-class test accuracy after each stage"), "stages_per_class", P)

# %%
nb.publish(plots.stage_confusions(results, stages=["rough", "residual", "classifier"], ncols=3,
                                  labels={"rough": "stage 1", "residual": "stage 2", "classifier": "stage 3"}),
           "stages_confusions", P)

# %%
nb.publish(nb.training_curves(run), "stages_curves", P)

# %% [markdown]
# ## The features after every stage
# The same test chips embedded by each stage's body, in one shared PCA projection and aligned
# t-SNE layouts. Stages 2 and 3a train the body, so their layouts may move: look for the tail
# classes separating, and check the k-NN accuracy per class group, which says it in numbers.
# 3b trains the classifier alone, so it leaves the features exactly as 3a left them.

# %%
from sartail.report import insight

nb.publish(insight.feature_views(run, max_chips=FEATURE_CHIPS).figure, "stages_features", P)

# %% [markdown]
# ## Questions
# 1. Why does 3b freeze the body and retrain only the classifier, instead of training everything
#    again with balanced sampling?
# 2. Which classes are still near 0 % after stage 3, and how many training chips do they have?
# 3. Of cRT, LWS and tau-norm, which one learns no parameter at all, and what does it change?

# %% [markdown]
# **Try:** compare the k-NN accuracy and scatter ratio under the 3a and 3b maps in the feature view.
# Why are they identical, while the per-class accuracies of 3a and 3b differ?
#
# The answer is in the collapsed cell below: click it to open it.

# %% [markdown] jupyter={"source_hidden": true}
# **Answer.** Stage 3b trains the classifier alone on a frozen body: the features of every chip are the
# same after 3a and after 3b, so every number computed from the features (layouts, k-NN
# accuracy, scatter ratio) is the same too. What changes is how the classifier draws its
# boundaries between those features, class-balanced: that moves the per-class accuracies. A
# difference between the two feature views would mean the body was not frozen.

# %% [markdown]
# **Next:** `04_compare_recipes` sets the three stages against the classic baselines, over
# several seeds.
