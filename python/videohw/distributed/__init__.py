"""videohw beyond one machine, on Ray (``pip install 'videohw[ray]'``): batch transcodes
whose workers keep their sessions from file to file, and frame datasets for training.

Importing this package does not import Ray; the calls do, and say how to install it when
it is missing. Nothing else in videohw imports Ray.
"""

from .batch import transcode_many
from .frames import read_frames
from .report import BatchProgress, BatchReport, FileResult
from .segments import Segment, plan_segments
from .worker import Job, JobResult, TranscodeWorker

__all__ = [
    "BatchProgress",
    "BatchReport",
    "FileResult",
    "Job",
    "JobResult",
    "Segment",
    "TranscodeWorker",
    "plan_segments",
    "read_frames",
    "transcode_many",
]
