"""`affectstudio project ...`: studies from the command line, everything the app does to a project.

    affectstudio project new P                      create an empty project file (*.affectproj)
    affectstudio project add P VIDEO...             add videos, known by content: one already in P under a
                                                    path that is gone (moved) is re-pointed and says so; a
                                                    copy of one whose file is still there is refused
                                                    (exit 2; `relink` points P at the copy)
    affectstudio project list P                     videos, whether found, models analysed, labelled frames
    affectstudio project relink P OLD NEW          point a moved video (old path or hash) at its new path
    affectstudio project import P VIDEO FILE        a lane,start,end,value[,annotator] CSV -> lanes;
                                                    an OpenFace / py-feat / frame-or-time CSV -> overlay
    affectstudio project analyze P [--model M]      analyse every video not yet analysed with M
        [--jobs N] [--executor local|ray]         (a resumable study; manifest in P.analyses/)
    affectstudio project export-dataset P OUT       labelled frames -> a training set (s-Aff-Wild2 or CSV)
    affectstudio project lanes P VIDEO --csv F | --elan F      export a video's lanes
    affectstudio project tracks P VIDEO             a video's face tracks (of its cached results); correct
        [--merge A B | --split A FRAME | --reject A] them: B becomes part of A, A's frames FRAME.. a new
                                                    track, A is not a face (annotations follow the frames)
    affectstudio project agreement P [--csv F]      annotators vs each other and vs the model
    affectstudio project train P [--config C]       export the dataset into the project's folder and train

Errors a user can cause print one line and exit 2; `analyze` goes on past a failing video and exits 2 at
the end if any failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ACTIONS = (
    "new",
    "add",
    "list",
    "relink",
    "import",
    "analyze",
    "export-dataset",
    "lanes",
    "tracks",
    "agreement",
    "train",
)


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "project",
        help="study projects: videos, analysis, annotation lanes, export and training, scripted",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("new", help="create an empty project").add_argument("project")
    add = actions.add_parser(
        "add",
        help="add videos (by content: a moved one is re-pointed, a copy of one still present refused)",
        description="Add videos, known by content. A video already in the project under a path that no "
        "longer exists (it was moved) is re-pointed at the new path, and a line says so. A copy of a video "
        "whose file is still where the project has it is refused (exit 2), so the project never silently "
        "changes which file it uses: `affectstudio project relink P OLD NEW` points it at the copy.",
    )
    add.add_argument("project")
    add.add_argument("videos", nargs="+", metavar="VIDEO")
    actions.add_parser("list", help="videos and their status").add_argument("project")
    relink = actions.add_parser("relink", help="point a moved video at its new path")
    relink.add_argument("project")
    relink.add_argument("old", help="the old path or the video's hash")
    relink.add_argument("new", help="where the video is now")
    imp = actions.add_parser("import", help="import spans (lanes) or another tool's per-frame output")
    imp.add_argument("project")
    imp.add_argument("video", help="a video of the project (path or hash)")
    imp.add_argument("file")
    imp.add_argument("--annotator", default=None, help="annotator of rows that name none (default: me)")
    imp.add_argument("--track", type=int, default=None, help="face track of rows that name none")
    imp.add_argument("--name", default=None, help="overlay name (default: from the file)")
    analyze = actions.add_parser(
        "analyze",
        help="analyse the videos not yet analysed with the model, as a study (resumable; the manifest is "
        "in PROJECT.analyses/)",
    )
    analyze.add_argument("project")
    analyze.add_argument("-m", "--model", help="installed model name or checkpoint (default model if unset)")
    analyze.add_argument("--device", default="auto")
    analyze.add_argument("--faces", choices=["largest", "all"], default="largest")
    analyze.add_argument("--plain", action="store_true", help="plain PyTorch instead of the fast CPU path")
    analyze.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="N videos at once (worker processes)"
    )
    analyze.add_argument(
        "--executor", choices=["local", "ray"], default="local", help="local processes or Ray"
    )
    analyze.add_argument("--ray-address", default=None, help="the Ray cluster to use (default: a local one)")
    export = actions.add_parser("export-dataset", help="labelled frames -> a training set")
    export.add_argument("project")
    export.add_argument("out", help="dataset folder (new, or one to add these videos to)")
    export.add_argument("--format", choices=["affwild", "csv"], default="affwild")
    export.add_argument("--videos", nargs="+", help="only these videos (paths or hashes)")
    export.add_argument("--annotators", nargs="+", help="only these annotators (later ones win on overlap)")
    lanes = actions.add_parser("lanes", help="export a video's lanes as spans CSV or ELAN text")
    lanes.add_argument("project")
    lanes.add_argument("video")
    target = lanes.add_mutually_exclusive_group(required=True)
    target.add_argument("--csv", help="spans CSV (lane,start,end,value,annotator,track,note)")
    target.add_argument("--elan", help="ELAN tab-delimited text")
    tracks = actions.add_parser("tracks", help="list a video's face tracks; merge, split or reject one")
    tracks.add_argument("project")
    tracks.add_argument("video")
    edit = tracks.add_mutually_exclusive_group()
    edit.add_argument("--merge", nargs=2, type=int, metavar=("A", "B"), help="track B becomes part of A")
    edit.add_argument(
        "--split", nargs=2, type=int, metavar=("A", "FRAME"), help="A's frames FRAME.. a new track"
    )
    edit.add_argument("--reject", type=int, metavar="A", help="track A is not a face")
    agree = actions.add_parser("agreement", help="agreement between annotators and with the model")
    agree.add_argument("project")
    agree.add_argument("--csv", help="also write the table as CSV")
    train = actions.add_parser("train", help="export the project's dataset and train a model on it")
    train.add_argument("project")
    train.add_argument("--config", help="training config (TOML); its data folder is replaced")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")
    train.add_argument(
        "--format",
        choices=["affwild", "csv"],
        default="csv",
        help="dataset layout (default csv: it declares only the labelled tasks, so strict curation keeps "
        "frames; the s-Aff-Wild2 layout declares all three)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from affectstudio.commands import project_actions as actions

    name = {"list": "list_videos", "import": "import_file", "new": "new_project"}.get(
        args.action, args.action
    )
    return getattr(actions, name.replace("-", "_"))(args)


def say(text: str) -> None:
    print(text, file=sys.stdout, flush=True)


def default_dataset_folder(project: Path) -> Path:
    return project.with_name(f"{project.stem}_dataset")
