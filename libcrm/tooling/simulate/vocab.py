"""Word lists the simulated library is made of: departments, CLC subjects, names, titles."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subject:
    """A Chinese Library Classification subject the catalogue is drawn from.

    ``prefix`` starts every call number of the subject (``TP3`` gives ``TP311.13``), ``digits``
    says how many class digits follow it, ``share`` is its part of the collection and
    ``topics`` feed titles and lectures.
    """

    code: str
    prefix: str
    digits: int
    share: float
    topics: tuple[str, ...]

    @property
    def clc_class(self) -> str:
        """The top CLC class letters exported in items.csv (``O1`` -> ``O``)."""
        return "".join(character for character in self.prefix if character.isalpha())


def _listed(words: str) -> tuple[str, ...]:
    """The entries of a list written as one text, ``;`` between them."""
    return tuple(word.strip() for word in words.split(";"))


def _subject(code: str, prefix: str, digits: int, share: float, topics: str) -> Subject:
    return Subject(code, prefix, digits, share, _listed(topics))


# A table, one subject per entry (code, prefix, digits, share, topics): kept as laid out.
# fmt: off
SUBJECTS: tuple[Subject, ...] = (
    _subject("TP", "TP3", 2, 0.12, "Machine Learning; Operating Systems; Database Systems; "
             "Computer Networks; Python Programming; Algorithms; Compilers; Deep Learning; "
             "Software Engineering; Distributed Systems; Computer Vision"),
    _subject("O1", "O1", 2, 0.07, "Linear Algebra; Calculus; Probability Theory; Graph Theory; "
             "Number Theory; Real Analysis; Topology; Statistics; Numerical Methods; "
             "Combinatorics"),
    _subject("O4", "O4", 2, 0.06, "Quantum Mechanics; Electromagnetism; Optics; Thermodynamics; "
             "Solid State Physics; Relativity; Particle Physics; Classical Mechanics; "
             "Astrophysics"),
    _subject("O6", "O6", 2, 0.05, "Organic Chemistry; Physical Chemistry; Catalysis; "
             "Polymer Science; Analytical Chemistry; Inorganic Chemistry; Electrochemistry; "
             "Spectroscopy"),
    _subject("I2", "I2", 2, 0.11, "Tang Poetry; Song Ci; Lu Xun; Modern Chinese Fiction; "
             "Classical Prose; Dream of the Red Chamber; Shen Congwen; Wuxia Fiction; "
             "Contemporary Chinese Poetry; Mo Yan"),
    _subject("I5", "I5", 2, 0.09, "Shakespeare; The Victorian Novel; Russian Fiction; Kafka; "
             "French Poetry; Modernism; Jane Austen; Tolstoy; Dante"),
    _subject("K", "K", 3, 0.08, "the Tang Dynasty; the Silk Road; Ming China; the Qing Empire; "
             "the Song Economy; Ancient Greece; the Roman Empire; Republican China; "
             "the Cold War; Dunhuang"),
    _subject("F", "F", 3, 0.08, "Macroeconomics; Microeconomics; Econometrics; Finance; "
             "Development Economics; Accounting; Game Theory; International Trade; "
             "Behavioural Economics"),
    _subject("D9", "D9", 2, 0.05, "Civil Law; Criminal Law; Constitutional Law; Contract Law; "
             "International Law; Intellectual Property; Administrative Law; Company Law"),
    _subject("R", "R", 3, 0.07, "Anatomy; Physiology; Pharmacology; Internal Medicine; "
             "Epidemiology; Traditional Chinese Medicine; Surgery; Immunology; Public Health"),
    _subject("H3", "H3", 2, 0.05, "English Grammar; Academic Writing; Translation; Linguistics; "
             "Phonetics; IELTS Preparation; Second Language Acquisition; "
             "Japanese for Beginners"),
    _subject("B", "B", 3, 0.06, "Confucius; Zhuangzi; Ethics; Logic; Kant; Philosophy of Mind; "
             "Wang Yangming; Existentialism; Laozi"),
    _subject("G", "G", 3, 0.06, "Education; Museum Studies; Sports Science; Library Science; "
             "Journalism; Cultural Studies; Information Literacy"),
    _subject("J", "J", 3, 0.05, "Calligraphy; Chinese Painting; Film Studies; Photography; "
             "Western Art History; Music Theory; Architecture"),
)
# fmt: on
SUBJECT_CODES: tuple[str, ...] = tuple(subject.code for subject in SUBJECTS)

# Department -> its CLC subjects, the first one being its core subject.
DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "Computer Science": ("TP", "O1"),
    "Mathematics": ("O1", "TP"),
    "Physics": ("O4", "O1"),
    "Chemistry": ("O6", "R", "O4"),
    "Medicine": ("R", "O6"),
    "Chinese Literature": ("I2", "K", "B"),
    "History": ("K", "I2", "B"),
    "Economics": ("F", "O1", "D9"),
    "Law": ("D9", "F", "K"),
    "Foreign Languages": ("H3", "I5"),
}
DEPARTMENT_NAMES: tuple[str, ...] = tuple(DEPARTMENTS)
# Relative department sizes: large schools, small schools.
DEPARTMENT_SHARES: tuple[float, ...] = (0.14, 0.08, 0.07, 0.07, 0.12, 0.10, 0.08, 0.13, 0.10, 0.11)
# Subjects anyone may pick up as a side interest.
GENERAL_SUBJECTS: tuple[str, ...] = ("B", "I5", "G", "J", "K", "I2")

FAMILY_NAMES: tuple[str, ...] = _listed(
    "Wang; Li; Zhang; Liu; Chen; Yang; Huang; Zhao; Wu; Zhou; Xu; Sun; Ma; Zhu; Hu; Guo; He; Lin; "
    "Gao; Luo; Zheng; Liang; Xie; Song; Tang; Han; Feng; Deng; Cao; Peng"
)
GIVEN_NAMES: tuple[str, ...] = _listed(
    "Wei; Fang; Na; Xiuying; Min; Jing; Li; Qiang; Lei; Jun; Yang; Yong; Yan; Jie; Tao; Ming; "
    "Chao; Xiulan; Xia; Ping; Gang; Hui; Yu; Hao; Xin; Yi; Zihan; Yuxuan; Haoran; Zimo; Yutong; "
    "Shuang; Kai; Lin; Bo; Xiaoming; Jiayi; Ruoxi; Mengyao; Tianyi"
)
WESTERN_AUTHORS: tuple[str, ...] = _listed(
    "A. Smith; J. Miller; M. Brown; E. Dubois; K. Tanaka; H. Schmidt; R. Ivanov; C. Rossi; "
    "S. Johnson; L. Garcia; P. Novak; D. Wilson"
)
TITLE_PATTERNS: tuple[str, ...] = _listed(
    "{topic}; Introduction to {topic}; {topic}: Theory and Practice; Advanced {topic}; "
    "A Short History of {topic}; {topic} in China; Essays on {topic}; Handbook of {topic}; "
    "{topic} for Beginners; Readings in {topic}; New Perspectives on {topic}; "
    "Lectures on {topic}; {topic} (2nd edition); Understanding {topic}"
)
NOVELS: tuple[str, ...] = _listed(
    "The Three-Body Problem; To Live; Fortress Besieged; Border Town; Red Sorghum; Rickshaw Boy; "
    "Ordinary World; White Deer Plain; Wolf Totem; Pride and Prejudice; War and Peace; "
    "One Hundred Years of Solitude"
)
LECTURE_PATTERNS: tuple[str, ...] = _listed(
    "Lecture: New directions in {topic}; Lecture: What {topic} teaches us; "
    "Lecture: A reader's guide to {topic}; Lecture: {topic} and the digital age"
)
WORKSHOP_TOPICS: tuple[str, ...] = _listed(
    "Zotero for thesis writing; Finding data sets; LaTeX basics; Searching CNKI; "
    "Avoiding plagiarism; Research data management; Python for researchers; Poster design; "
    "Literature review methods"
)
EVENT_ROOMS: tuple[str, ...] = _listed(
    "Room 204; Room 305; Lecture Hall A; Lecture Hall B; Reading Room 1; Learning Commons; "
    "Main Hall"
)
GATE_IDS: tuple[str, ...] = ("G1", "G2", "G3", "G4")
