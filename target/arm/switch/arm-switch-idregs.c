/*
 * Accelerator switching: is the CPU KVM presents one TCG can emulate?
 *
 * A switchable VM's "-cpu host" takes its feature ID registers from KVM,
 * and TCG, which builds its CPU from the same values, presents them too.
 * TCG then claims whatever the host has, but executes only what it
 * implements: on a host newer than this QEMU's TCG, a guest that found a
 * feature under KVM would take an undefined-instruction exception after
 * a switch.  Such a host is refused at start-up, naming each field whose
 * value KVM presents above what TCG's "max" CPU implements.
 *
 * Copyright (c) 2026 QEMU-VAS developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qapi/error.h"
#include "cpu.h"
#include "internals.h"
#include "arm-switch-internal.h"
#include "trace.h"

#include <linux/kvm.h>

#define FIELD_BITS 4

/*
 * One ID register.  @names lists its fields from bit 0 up, four bits
 * each, "-" where the architecture (as this QEMU knows it) names none.
 * @ignored are fields that describe the hardware without being anything
 * TCG must emulate; @signed_fields count down from 0 (0xf: absent);
 * a register of one-bit fields compares bit by bit.
 */
typedef struct IdRegCheck {
    const char *name;
    uint8_t crm, op2;   /* op0 3, op1 0, CRn 0 */
    size_t offset;      /* of TCG's value, in ARMISARegisters */
    bool is64;
    bool bitwise;
    uint64_t ignored;
    uint64_t signed_fields;
    const char *names;
} IdRegCheck;

#define ID_REG(reg, label, m, o) \
    .name = label, .crm = m, .op2 = o, \
    .offset = offsetof(ARMISARegisters, reg), \
    .is64 = sizeof(((ARMISARegisters *)0)->reg) == 8
#define M(reg, field) R_##reg##_##field##_MASK

static const IdRegCheck id_reg_checks[] = {
    { ID_REG(id_aa64isar0, "ID_AA64ISAR0_EL1", 6, 0),
      .names = "- AES SHA1 SHA2 CRC32 ATOMIC TME RDM SHA3 SM3 SM4 DP FHM "
               "TS TLB RNDR" },
    { ID_REG(id_aa64isar1, "ID_AA64ISAR1_EL1", 6, 1),
      .names = "DPB APA API JSCVT FCMA LRCPC GPA GPI FRINTTS SB SPECRES "
               "BF16 DGH I8MM XS LS64" },
    { ID_REG(id_aa64isar2, "ID_AA64ISAR2_EL1", 6, 2),
      .names = "WFxT RPRES GPA3 APA3 MOPS BC PAC_frac CLRBHB SYSREG_128 "
               "SYSINSTR_128 PRFMSLC - RPRFM CSSC - ATS1A" },
    /*
     * GIC: the VM's GIC is QEMU's GICv2 under both; TCG answers the
     * probe of the host's CPU interface (see add_legacy_icc_sre()).
     * CSV2, CSV3: what the hardware does not speculate; TCG does not.
     * MPAM: KVM traps its registers as undefined, as TCG does.
     */
    { ID_REG(id_aa64pfr0, "ID_AA64PFR0_EL1", 4, 0),
      .ignored = M(ID_AA64PFR0, GIC) | M(ID_AA64PFR0, CSV2) |
                 M(ID_AA64PFR0, CSV3) | M(ID_AA64PFR0, MPAM),
      .signed_fields = M(ID_AA64PFR0, FP) | M(ID_AA64PFR0, ADVSIMD),
      .names = "EL0 EL1 EL2 EL3 FP AdvSIMD GIC RAS SVE SEL2 MPAM AMU DIT "
               "RME CSV2 CSV3" },
    { ID_REG(id_aa64pfr1, "ID_AA64PFR1_EL1", 4, 1),
      .ignored = M(ID_AA64PFR1, CSV2_FRAC) | M(ID_AA64PFR1, MPAM_FRAC),
      .names = "BT SSBS MTE RAS_frac MPAM_frac - SME RNDR_trap CSV2_frac "
               "NMI MTE_frac GCS THE MTEX DF2 PFAR" },
    /*
     * Stage-2 granules: the guest has no EL2 under KVM.  SNSMem, ExS:
     * how the hardware's memory system and exceptions behave.
     */
    { ID_REG(id_aa64mmfr0, "ID_AA64MMFR0_EL1", 7, 0),
      .ignored = M(ID_AA64MMFR0, SNSMEM) | M(ID_AA64MMFR0, TGRAN16_2) |
                 M(ID_AA64MMFR0, TGRAN64_2) | M(ID_AA64MMFR0, TGRAN4_2) |
                 M(ID_AA64MMFR0, EXS),
      .signed_fields = M(ID_AA64MMFR0, TGRAN64) | M(ID_AA64MMFR0, TGRAN4),
      .names = "PARange ASIDBits BigEnd SNSMem BigEndEL0 TGran16 TGran64 "
               "TGran4 TGran16_2 TGran64_2 TGran4_2 ExS - - FGT ECV" },
    /* What the hardware does on speculative reads, TLB walks, branches */
    { ID_REG(id_aa64mmfr1, "ID_AA64MMFR1_EL1", 7, 1),
      .ignored = M(ID_AA64MMFR1, SPECSEI) | M(ID_AA64MMFR1, NTLBPA) |
                 M(ID_AA64MMFR1, ECBHB),
      .names = "HAFDBS VMIDBits VH HPDS LO PAN SpecSEI XNX TWED ETS HCX "
               "AFP nTLBPA TIDCP1 CMOW ECBHB" },
    { ID_REG(id_aa64mmfr2, "ID_AA64MMFR2_EL1", 7, 2),
      .names = "CnP UAO LSM IESB VARange CCIDX NV ST AT IDS FWB - TTL BBM "
               "EVT E0PD" },
    { ID_REG(id_aa64mmfr3, "ID_AA64MMFR3_EL1", 7, 3),
      .names = "TCRX SCTLRX S1PIE S2PIE S1POE S2POE AIE MEC D128 D128_2 "
               "SNERR ANERR - SDERR ADERR Spec_FPACC" },
    { ID_REG(id_aa64zfr0, "ID_AA64ZFR0_EL1", 4, 4),
      .names = "SVEver AES - - BitPerm BF16 B16B16 - SHA3 - SM4 I8MM - "
               "F32MM F64MM -" },
    { ID_REG(id_aa64smfr0, "ID_AA64SMFR0_EL1", 4, 5), .bitwise = true },
    /*
     * Debug: TCG emulates as many breakpoints and watchpoints as the
     * register claims, and no trace, statistical profiling or external
     * debug; only the debug architecture's version counts.  The PMU is
     * off in a switchable VM, so PMUVer must be 0 on both.
     */
    { ID_REG(id_aa64dfr0, "ID_AA64DFR0_EL1", 5, 0),
      .ignored = ~(M(ID_AA64DFR0, DEBUGVER) | M(ID_AA64DFR0, PMUVER)),
      .names = "DebugVer TraceVer PMUVer BRPs PMSS WRPs SEBEP CTX_CMPs "
               "PMSVer DoubleLock TraceFilt TraceBuffer MTPMU BRBE "
               "ExtTrcBuff HPMN0" },
    { ID_REG(id_isar0, "ID_ISAR0_EL1", 2, 0),
      .names = "Swap BitCount BitField CmpBranch Coproc Debug Divide -" },
    { ID_REG(id_isar1, "ID_ISAR1_EL1", 2, 1),
      .names = "Endian Except Except_AR Extend IfThen Immediate Interwork "
               "Jazelle" },
    { ID_REG(id_isar2, "ID_ISAR2_EL1", 2, 2),
      .names = "LoadStore MemHint MultiAccessInt Mult MultS MultU PSR_AR "
               "Reversal" },
    { ID_REG(id_isar3, "ID_ISAR3_EL1", 2, 3),
      .names = "Saturate SIMD SVC SynchPrim TabBranch T32Copy TrueNOP "
               "T32EE" },
    { ID_REG(id_isar4, "ID_ISAR4_EL1", 2, 4),
      .names = "Unpriv WithShifts Writeback SMC Barrier SynchPrim_frac "
               "PSR_M SWP_frac" },
    { ID_REG(id_isar5, "ID_ISAR5_EL1", 2, 5),
      .names = "SEVL AES SHA1 SHA2 CRC32 - RDM VCMA" },
    { ID_REG(id_isar6, "ID_ISAR6_EL1", 2, 7),
      .names = "JSCVT DP FHM SB SPECRES BF16 I8MM -" },
    { ID_REG(mvfr0, "MVFR0_EL1", 3, 0),
      .names = "SIMDReg FPSP FPDP FPTrap FPDivide FPSqrt FPShVec FPRound" },
    { ID_REG(mvfr1, "MVFR1_EL1", 3, 1),
      .names = "FPFtZ FPDNaN SIMDLS SIMDInt SIMDSP SIMDHP FPHP SIMDFMAC" },
    { ID_REG(mvfr2, "MVFR2_EL1", 3, 2),
      .names = "SIMDMisc FPMisc - - - - - -" },
    { ID_REG(id_pfr0, "ID_PFR0_EL1", 1, 0),
      .ignored = M(ID_PFR0, CSV2),
      .names = "State0 State1 State2 State3 CSV2 AMU DIT RAS" },
    { ID_REG(id_pfr1, "ID_PFR1_EL1", 1, 1),
      .ignored = M(ID_PFR1, GIC),
      .names = "ProgMod Security MProgMod Virtualization GenTimer Sec_frac "
               "Virt_frac GIC" },
    { ID_REG(id_pfr2, "ID_PFR2_EL1", 3, 4),
      .ignored = M(ID_PFR2, CSV3),
      .names = "CSV3 SSBS RAS_frac - - - - -" },
    { ID_REG(id_dfr0, "ID_DFR0_EL1", 1, 2),
      .ignored = ~(M(ID_DFR0, COPDBG) | M(ID_DFR0, COPSDBG) |
                   M(ID_DFR0, PERFMON)),
      .names = "CopDbg CopSDbg MMapDbg CopTrc MMapTrc MProfDbg PerfMon "
               "TraceFilt" },
};

static uint64_t id_reg_value(const ARMISARegisters *isar,
                             const IdRegCheck *check)
{
    const void *p = (const char *)isar + check->offset;

    return check->is64 ? *(const uint64_t *)p : *(const uint32_t *)p;
}

/*
 * What the guest reads under KVM, and from TCG once it adopted KVM's
 * values: the register in KVM's list, else what "host" probed.
 */
static uint64_t kvm_id_reg_value(ARMCPU *cpu, const IdRegCheck *check)
{
    uint64_t *value = arm_switch_list_reg(
        cpu, ARM64_SYS_REG(3, 0, 0, check->crm, check->op2));

    return value ? *value : id_reg_value(&cpu->isar, check);
}

/*
 * What TCG implements: its "max" CPU, built on a scratch object that is
 * never realized, with the features "max" adds only as it is realized
 * (pointer authentication by each algorithm, FEAT_LPA2) set as well.
 */
static void tcg_max_id_regs(ARMISARegisters *isar)
{
    Object *obj = object_new(ARM_CPU_TYPE_NAME("cortex-a57"));
    ARMCPU *max = ARM_CPU(obj);
    uint64_t t;

    aarch64_max_tcg_initfn(obj);
    t = max->isar.id_aa64isar1;
    t = FIELD_DP64(t, ID_AA64ISAR1, API, PauthFeat_FPACCOMBINED);
    t = FIELD_DP64(t, ID_AA64ISAR1, GPA, 1);
    t = FIELD_DP64(t, ID_AA64ISAR1, GPI, 1);
    max->isar.id_aa64isar1 = t;
    t = max->isar.id_aa64isar2;
    t = FIELD_DP64(t, ID_AA64ISAR2, APA3, PauthFeat_FPACCOMBINED);
    t = FIELD_DP64(t, ID_AA64ISAR2, GPA3, 1);
    max->isar.id_aa64isar2 = t;
    t = max->isar.id_aa64mmfr0;
    t = FIELD_DP64(t, ID_AA64MMFR0, TGRAN16, 2);
    t = FIELD_DP64(t, ID_AA64MMFR0, TGRAN4, 1);
    max->isar.id_aa64mmfr0 = t;
    *isar = max->isar;
    object_unref(obj);
}

/*
 * For the test suite only: QEMU_VAS_TEST_KVM_ID_BITS=REG:MASK adds MASK
 * to what KVM presents in REG (a name from the table above), as a host
 * newer than TCG would, so that the refusal can be seen on any host.
 */
static uint64_t test_extra_bits(const char *reg)
{
    const char *env = g_getenv("QEMU_VAS_TEST_KVM_ID_BITS");
    g_autofree char *prefix = g_strconcat(reg, ":", NULL);
    uint64_t mask;

    if (!env || !g_str_has_prefix(env, prefix) ||
        qemu_strtou64(env + strlen(prefix), NULL, 0, &mask)) {
        return 0;
    }
    return mask;
}

static void describe_field(GString *out, const IdRegCheck *check,
                           int lsb, int width, uint64_t kvm, uint64_t tcg)
{
    g_auto(GStrv) names = g_strsplit(check->names ?: "", " ", -1);
    int index = lsb / FIELD_BITS;

    g_string_append_printf(out, "%s %s", out->len ? "," : "", check->name);
    if (width == 1) {
        g_string_append_printf(out, " bit %d", lsb);
    } else if (index < g_strv_length(names) && strcmp(names[index], "-")) {
        g_string_append_printf(out, ".%s", names[index]);
    } else {
        g_string_append_printf(out, " bits [%d:%d]", lsb + width - 1, lsb);
    }
    g_string_append_printf(out, " (KVM %" PRIu64 ", TCG %" PRIu64 ")",
                           kvm, tcg);
}

/* Append to @out each field where KVM presents more than TCG has */
static void check_id_reg(GString *out, const IdRegCheck *check,
                         uint64_t kvm, uint64_t tcg)
{
    int width = check->bitwise ? 1 : FIELD_BITS;
    int lsb;

    for (lsb = 0; lsb < (check->is64 ? 64 : 32); lsb += width) {
        uint64_t k = extract64(kvm, lsb, width);
        uint64_t t = extract64(tcg, lsb, width);
        bool over;

        if (extract64(check->ignored, lsb, width)) {
            continue;
        }
        if (extract64(check->signed_fields, lsb, width)) {
            over = sextract64(kvm, lsb, width) > sextract64(tcg, lsb, width);
        } else {
            over = k > t;
        }
        if (over) {
            describe_field(out, check, lsb, width, k, t);
        }
    }
}

bool arm_switch_check_id_regs(ARMCPU *cpu, Error **errp)
{
    g_autoptr(GString) over = g_string_new("");
    ARMISARegisters tcg;
    int i;

    tcg_max_id_regs(&tcg);
    for (i = 0; i < ARRAY_SIZE(id_reg_checks); i++) {
        const IdRegCheck *check = &id_reg_checks[i];
        uint64_t kvm = kvm_id_reg_value(cpu, check) |
                       test_extra_bits(check->name);
        uint64_t max = id_reg_value(&tcg, check);

        trace_arm_switch_id_reg(check->name, kvm, max);
        check_id_reg(over, check, kvm, max);
    }
    if (over->len) {
        error_setg(errp, "the host CPU has features TCG cannot emulate:%s",
                   over->str);
        error_append_hint(errp, "The guest would find them under KVM and "
                          "fault on them after a switch to TCG.\n");
        return false;
    }
    return true;
}
