"""An independent safety checker for built cases.

It reads each case the way a clinician reading the transcript would -- the patient record, the
orders and lab values said in the utterances and tables -- and finds every problem the knowledge
base can see (allergies, interactions, renal and weight dosing, pregnancy, contraindications,
unacknowledged critical values, incomplete prechecks, ambiguous orders). It shares the knowledge
base and its dose arithmetic with the generator but none of the generator's problem injectors, so
it catches problems the injectors add by accident or fail to add.
"""

from behaviorbench.checking.checks import KINDS, Chart, Finding, check_utterance
from behaviorbench.checking.run import check_path
from behaviorbench.checking.verdict import EXPECTED, Report, check_case

__all__ = ["EXPECTED", "KINDS", "Chart", "Finding", "Report", "check_case", "check_path", "check_utterance"]
