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
# # 00 · A tour of a long-tailed SAR set
#
# Li et al. (2021) built their three-stage training strategy for **MAVOC**, a set of SAR
# chips of ten vehicle classes in which sedans outnumber flatbed trucks with trailers by about
# 370 to 1. A classifier trained on such a set sees the head classes all the time and the tail
# classes hardly at all. Before training anything, this notebook looks at such a set:
#
# 1. the chips per class on a log scale, and the imbalance ratio (largest class over smallest);
# 2. chips of the head and of the tail classes side by side;
# 3. the pixel statistics of every class;
# 4. a long-tail builder: a profile, a ratio and a seed turn a balanced set into a long-tailed one;
# 5. the synthetic chips beside real MAVOC chips: how realistic is the embedded default?
#
# It runs on the **synthetic** SAR-like chips embedded in `sartail` (no download; every figure
# says so). To look at real chips instead, set `DATA` in the next cell, e.g.
# `DATA = "mstar:/data/MSTAR"` or `DATA = "mavoc:/data/MAVOC"`.

# %% [markdown]
# ## What to look for
# - The **imbalance ratio** in the histogram's title, and how many classes hold only a handful
#   of chips: those are the classes a classifier will hardly ever see in a batch.
# - In the gallery, whether head and tail chips differ in ways a network can pick up (size,
#   shape, brightness) or look alike.
# - In the pixel statistics, whether the classes' brightness overlaps: where it does,
#   brightness alone cannot tell them apart and a network has to learn shape.

# %% tags=["parameters"]
DATA = "synthetic"        # or "mstar:/path/to/MSTAR", "mavoc:/path/to/MAVOC", "folder:/path"
TEST = None               # real data only: a labelled test set, e.g. "mstar:/path/to/MSTAR/test"
SCALE = 0.01              # synthetic only: MAVOC's class counts times SCALE (about 2,900 chips)
TEST_PER_CLASS = 40       # synthetic only: chips per class of the balanced test set
SEED = 0
GALLERY_PER_CLASS = 6     # chips per class in the gallery
POOL_PER_CLASS = 200      # synthetic only: chips per class of the balanced pool for the builder
FIGURES = ""              # a folder: every figure is also saved there as PNG, SVG and PDF
REAL = "mavoc_test:../../shared/data/mavoc2022_test_sar"  # real chips to compare the synthetic ones with
REALISM_CNN = False       # also train the small CNN discriminator (about 30 s more)

# %%
from sartail.report import figures as plots
from sartail.ui import notebook as nb, widgets

P = nb.params(globals())  # SARTAIL_NB_<NAME> environment variables override the parameters above
P

# %% [markdown]
# ## 1 · How many chips of each class?
# The table lists the classes with their chips; the histogram draws them on a log scale, so
# that the tail is visible at all. Its title gives the **imbalance ratio**.

# %%
train, test = nb.load_chips(P)
nb.class_table(train)

# %%
nb.publish(plots.class_histogram(train.class_counts().tolist(), train.class_names, synthetic=train.synthetic),
           "class_histogram", P)

# %% [markdown]
# ## 2 · What do the chips look like?
# Head classes (most chips) on the left, tail classes (fewest) on the right, each row a class
# with its number of chips. One grey scale for all chips, so brightness can be compared.

# %%
nb.publish(plots.chip_gallery(train, per_class=GALLERY_PER_CLASS, seed=SEED), "chip_gallery", P)

# %% [markdown]
# ## 3 · Pixel statistics
# Speckle gives SAR its long bright tail of pixel values; zero padding around small chips
# gives the spike at 0. Whether the mean brightness of a chip alone tells classes apart shows
# on the right.

# %%
nb.publish(plots.pixel_statistics(train), "pixel_statistics", P)

# %%
nb.pixel_table(train)

# %% [markdown]
# ## 4 · The long-tail builder
# Studies of long-tailed learning often start from a balanced set and keep fewer and fewer
# chips per class: an **exponential** profile (Cao et al. 2019), a **step** profile (half the
# classes keep few chips) or **MAVOC's** own shape. Pick a profile, an imbalance ratio and a
# seed (which chips are drawn); the histogram is redrawn (dashed outlines: chips available).
# The same subsets are made by `sartail run --profile exp --ratio 100`.

# %%
builder = widgets.LongTailBuilder(nb.balanced_pool(P, train), profile="exp", ratio=100, seed=SEED)
builder

# %% [markdown]
# The builder's state is plain Python: the counts it asks for and the chips it drew.

# %%
builder.counts, round(builder.actual_ratio, 1), builder.subset

# %% [markdown]
# ## 5 · Real versus synthetic
# How SAR-like are the embedded chips? The realism report sets the synthetic balanced test set
# beside real MAVOC chips (`REAL`): the grey-level histograms and their Wasserstein-1 / KS
# distances, the distribution across chips of per-chip statistics (brightness, speckle's local
# coefficient of variation, autocorrelation length, bright scatterers, zero pixels), and the
# ROC AUC of classifiers trained to tell the two sets apart (0.5: indistinguishable). The same
# report comes from `sartail data compare synthetic mavoc_test:PATH --out DIR`.

# %%
from sartail.report import realism_report

report, figures = realism_report.notebook_comparison(REAL, cnn=REALISM_CNN)

# %%
from IPython.display import display

for name, fig in figures.items():
    display(nb.publish(fig, name, P))

# %% [markdown]
# ## Questions
# 1. A model trained on this set sees class 0 in most batches. Why does it favour class 0 even
#    if every class were equally easy to recognise?
# 2. The synthetic set is MAVOC's class counts times `SCALE`. What happens to the smallest
#    classes when `SCALE` is small, and what does that do to the test of the tail?
# 3. What in the realism report would tell you that results on the synthetic chips carry over
#    to real SAR, and what would tell you that they do not?

# %% [markdown]
# **Try:** in the long-tail builder, choose the `step` profile at ratio 100, then `exp` at the same
# ratio. Which one puts more classes in the tail?
#
# The answer is in the collapsed cell below: click it to open it.

# %% [markdown] jupyter={"source_hidden": true}
# **Answer.** `step` keeps the first half of the classes at the full count and cuts the other half to
# 1/100 of it: five classes share the same few chips, and there is no medium-shot group.
# `exp` shrinks the counts geometrically from class to class, so only the last classes are that
# small and the middle ones are medium-sized. The step profile is the harder test of the tail;
# the exponential one also tests the classes in between.

# %% [markdown]
# **Next:** `01_stage1_rough` trains stage 1 on this data and shows how the tail sinks into
# class 0.
