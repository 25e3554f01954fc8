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
# # 06 · The removal sweep: which classes should stage 2 remove?
#
# The one free choice of the paper's recipe (`three_stage`) is the set of classes stage 2
# removes. The paper removes class 0, the head. This notebook trains `three_stage` with
# several **removed sets** -- none (stage 2 then just goes on training on everything), `{0}`,
# the classes holding more than a share of the training chips (`SHARES`), the `k` largest
# classes (`TOPS`) and any set you sent here from notebook 02's picker with **add to
# sweep** -- for several seeds, and
# plots balanced and many / medium / few-shot test accuracy against the removed set, with a
# 95% t-interval over the seeds. Sets that turn out equal are trained once (their labels are
# joined, e.g. `{0} = >20%`).
#
# It is cheap because nothing is trained twice: every run of one seed shares its chips, stage
# 1 (rough) does not depend on the removed set and is trained once per seed and copied into
# the other runs, and the notebooks' own run (`RUN_DIR/three_stage`) gives seed 0's `{0}` run
# for free. The same sweep on the command line: `sartail sweep-removal --seeds 0,1,2`.
#
# The **default is one seed** (seed 0: `none` and the top-2 set are trained, `{0}` comes from
# notebooks 01-03), so the notebook finishes in under a minute on two CPU cores, and its bars
# carry no interval yet. **`SEEDS = [0, 1, 2]`** adds the 95 % t-intervals, at about 45 s of CPU
# per extra seed at these settings. Even then, read the interval as "how sure", not as a ranking.

# %% [markdown]
# ## What to look for
# - Every point is the **final** model (after stage 3) trained with that removed set; stage 1 is
#   the same for every set of a seed, so the differences come from stage 2 onwards.
# - The few-shot points across the sets: they show what the removal choice does to the tail;
#   the balanced points whether the head pays for it.
# - The intervals: with one seed there are none, and two sets whose intervals overlap are not
#   told apart.

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
RESIDUAL_EPOCHS = 4
BALANCED_EPOCHS = 2
CLASSIFIER_EPOCHS = 3
SEEDS = [0]               # one seed: a first look; [0, 1, 2] for 95% t-intervals
SHARES = [0.2]            # remove the classes holding more than this share of the training chips
TOPS = [2]                # remove the k largest classes, for each k
RUN_DIR = "runs"          # runs go to RUN_DIR/removal/<set>/seed-<seed>
FIGURES = ""              # a folder: every figure is also saved there as PNG, SVG and PDF

# %%
from sartail.report import figures as plots
from sartail.ui import notebook as nb

P = nb.params(globals())  # SARTAIL_NB_<NAME> environment variables override the parameters above
P

# %% [markdown]
# Sets sent from notebook 02 (`add to sweep`), swept too:

# %%
nb.sweep_choices(RUN_DIR)

# %%
sweep = nb.removal_sweep(P, seeds=SEEDS, shares=SHARES, tops=TOPS)

# %%
nb.removal_table(sweep)

# %%
nb.publish(plots.removal_figure(sweep), "removal_sweep", P)

# %% [markdown]
# **Read it:** each point is the final model of one removed set. Removing classes in stage 2
# gives the network's attention to fewer classes for those epochs; whether the tail keeps the
# gain after stage 3 brings every class back, and what the head pays, is what the points show.

# %% [markdown]
# ## Questions
# 1. Why is stage 1 trained once per seed and shared by every removed set, and what would be
#    lost if each set had its own stage 1?
# 2. Removing nothing still trains stage 2 (on every class). What does the `none` set then
#    measure?
# 3. Why does a larger removed set not simply mean a better tail?

# %% [markdown]
# **Try:** `SEEDS = [0, 1, 2]` for intervals (four or more for narrower ones), or `DATA = "mstar:/path"`.
#
# The answer is in the collapsed cell below: click it to open it.

# %% [markdown] jupyter={"source_hidden": true}
# **Answer.** With three seeds every point gets a 95 % t-interval over the seeds (Student's t with two
# degrees of freedom: 4.30 standard errors each side), so the intervals are wide, and two
# removed sets whose intervals overlap are not told apart. More seeds narrow the intervals roughly as one over the square root of their number. On MSTAR
# (a balanced set) `PROFILE = "auto"` first makes the training set long-tailed (exponential, at
# `RATIO`), so the sweep asks the same question of real chips.
