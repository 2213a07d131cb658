"""Physical constants and units (the only place numbers of nature are written).

Unit discipline (after wimprates): internally every energy is in MeV, every
cross section in MeV^-2 (natural units, hbar = c = 1), lengths are converted
with :data:`HBARC_MEV_CM`.  Public functions state the units of their inputs
and outputs in their docstrings; use the multipliers below to convert, e.g.
``T = 200 * keV`` gives 0.2 (MeV).

Sources
-------
* CODATA 2018 (P. J. Mohr et al., Rev. Mod. Phys. 93, 025010 (2021)):
  alpha, m_e, m_p, m_n, hbar*c, u, N_A, e, mu_B.
* PDG 2024 (S. Navas et al., Phys. Rev. D 110, 030001 (2024)):
  G_F, light-quark masses, sin^2 theta_W (MS-bar) at M_Z and at Q -> 0.
"""

from __future__ import annotations

# --- energy units (internal unit: MeV) -------------------------------------
MeV: float = 1.0
keV: float = 1.0e-3 * MeV
eV: float = 1.0e-6 * MeV
GeV: float = 1.0e3 * MeV

# --- CODATA 2018 -------------------------------------------------------------
ALPHA_EM: float = 1.0 / 137.035999084  #: fine-structure constant at q^2 = 0
M_ELECTRON: float = 0.51099895000  #: electron mass [MeV]
M_PROTON: float = 938.27208816  #: proton mass [MeV]
M_NEUTRON: float = 939.56542052  #: neutron mass [MeV]
ATOMIC_MASS_UNIT: float = 931.49410242  #: unified atomic mass unit u [MeV]
HBARC_MEV_CM: float = 1.973269804e-11  #: hbar*c [MeV cm]
AVOGADRO: float = 6.02214076e23  #: N_A [1/mol]
ELECTRON_CHARGE_C: float = 1.602176634e-19  #: e [C] (exact since 2019)
BOHR_MAGNETON_PER_E: float = 1.0 / (2.0 * M_ELECTRON)  #: mu_B = e/(2 m_e); in units of e [MeV^-1]

# --- PDG 2024 -----------------------------------------------------------------
G_FERMI: float = 1.1663788e-11  #: Fermi constant G_F/(hbar c)^3 [MeV^-2]
M_UP: float = 2.16  #: MS-bar m_u(2 GeV) [MeV] (PDG 2024)
M_DOWN: float = 4.70  #: MS-bar m_d(2 GeV) [MeV] (PDG 2024)
SIN2W_MZ: float = 0.23121  #: MS-bar sin^2 theta_W(M_Z)
SIN2W_LOW_Q: float = 0.23857  #: MS-bar sin^2 theta_W(q -> 0), paper's Sec. 2 value
M_Z: float = 91187.6  #: Z mass [MeV]
M_MUON: float = 105.6583755  #: muon mass [MeV]
M_PION_CHARGED: float = 139.57039  #: pi+ mass [MeV]
TAU_MUON_US: float = 2.1969811  #: mu+ lifetime [us]
TAU_PION_US: float = 0.026033  #: pi+ lifetime [us]

# --- time and length -------------------------------------------------------------
SECONDS_PER_DAY: float = 86400.0
CM2_PER_MEV_M2: float = HBARC_MEV_CM**2  #: 1 MeV^-2 expressed in cm^2
METER_CM: float = 100.0

# --- hadronic scalar couplings (paper, text under eq. 15) ---------------------------
F_T_PROTON = {"u": 0.026, "d": 0.038}  #: f^p_{T_q}
F_T_NEUTRON = {"u": 0.018, "d": 0.056}  #: f^n_{T_q}


def cm2_to_natural(area_cm2: float) -> float:
    """Convert an area (e.g. a charge radius <r^2>) from cm^2 to MeV^-2."""
    return area_cm2 / CM2_PER_MEV_M2
