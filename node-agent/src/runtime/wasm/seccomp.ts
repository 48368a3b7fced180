/**
 * A small seccomp deny-list for WASM pod processes, compiled to classic BPF
 * (struct sock_filter[]) for `bwrap --seccomp <fd>`. The runner (Node.js)
 * needs ordinary syscalls only; what a pod never needs and an escaped engine
 * would use to attack the kernel or leave its namespaces (mount, namespaces,
 * ptrace, modules, bpf, keyrings, userfaultfd, handle-based opens, clocks,
 * reboot, swap) returns EPERM. Other architectures and the x32 ABI are
 * refused outright, so a syscall number cannot be smuggled past the table.
 */

/** Syscalls denied with EPERM, by name (x86_64 numbers below). */
export const DENIED_SYSCALLS = [
  "ptrace",
  "mount",
  "umount2",
  "pivot_root",
  "chroot",
  "unshare",
  "setns",
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "bpf",
  "keyctl",
  "add_key",
  "request_key",
  "perf_event_open",
  "userfaultfd",
  "open_by_handle_at",
  "name_to_handle_at",
  "reboot",
  "swapon",
  "swapoff",
  "acct",
  "settimeofday",
  "clock_settime",
  "adjtimex",
  "clock_adjtime",
  "iopl",
  "ioperm",
  "quotactl",
  "process_vm_readv",
  "process_vm_writev",
  "sethostname",
  "setdomainname",
  "syslog",
  "lookup_dcookie",
  "open_tree",
  "move_mount",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "mount_setattr",
] as const;

// x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl).
const X86_64: Record<(typeof DENIED_SYSCALLS)[number] | "clone" | "clone3" | "ioctl", number> = {
  ioctl: 16,
  clone: 56,
  ptrace: 101,
  syslog: 103,
  mount: 165,
  umount2: 166,
  pivot_root: 155,
  chroot: 161,
  unshare: 272,
  setns: 308,
  kexec_load: 246,
  kexec_file_load: 320,
  init_module: 175,
  finit_module: 313,
  delete_module: 176,
  bpf: 321,
  keyctl: 250,
  add_key: 248,
  request_key: 249,
  perf_event_open: 298,
  userfaultfd: 323,
  open_by_handle_at: 304,
  name_to_handle_at: 303,
  reboot: 169,
  swapon: 167,
  swapoff: 168,
  acct: 163,
  settimeofday: 164,
  clock_settime: 227,
  adjtimex: 159,
  clock_adjtime: 305,
  iopl: 172,
  ioperm: 173,
  quotactl: 179,
  process_vm_readv: 310,
  process_vm_writev: 311,
  sethostname: 170,
  setdomainname: 171,
  lookup_dcookie: 212,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  mount_setattr: 442,
  clone3: 435,
};

const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
const CLONE_NAMESPACES = 0x7e020000;
// TIOCSTI and TIOCLINUX push input into a terminal: the classic sandbox escape through a shared tty.
const TTY_INJECT = [0x5412, 0x541c];
const EPERM = 1;
const ENOSYS = 38;

const RET_KILL_PROCESS = 0x80000000;
const RET_ERRNO = 0x00050000;
const RET_ALLOW = 0x7fff0000;
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;

// struct seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8 i (low word first on little-endian).
const NR = 0;
const ARCH = 4;
const ARG0 = 16;
const ARG1 = 24;

type Insn = { code: number; jt?: string | number; jf?: string | number; k: number; label?: string };

/** The filter for this machine's architecture as the bytes bwrap reads from its --seccomp fd. */
export function seccompFilter(arch: string = process.arch): Buffer {
  if (arch !== "x64") throw new Error(`no seccomp syscall table for architecture ${arch}`);
  const t = X86_64;
  const prog: Insn[] = [
    { code: LD_W_ABS, k: ARCH },
    { code: JEQ_K, k: AUDIT_ARCH_X86_64, jt: 1, jf: 0 },
    { code: RET_K, k: RET_KILL_PROCESS },
    { code: LD_W_ABS, k: NR },
    { code: JGE_K, k: X32_SYSCALL_BIT, jt: "eperm", jf: 0 },
    ...DENIED_SYSCALLS.map((name): Insn => ({ code: JEQ_K, k: t[name], jt: "eperm", jf: 0 })),
    // glibc falls back to clone() when clone3 says ENOSYS; clone's flags can be checked, clone3's cannot.
    { code: JEQ_K, k: t.clone3, jt: "enosys", jf: 0 },
    { code: JEQ_K, k: t.clone, jt: "clone", jf: 0 },
    { code: JEQ_K, k: t.ioctl, jt: "ioctl", jf: 0 },
    { code: RET_K, k: RET_ALLOW },
    { label: "clone", code: LD_W_ABS, k: ARG0 },
    { code: JSET_K, k: CLONE_NAMESPACES, jt: "eperm", jf: 0 },
    { code: RET_K, k: RET_ALLOW },
    { label: "ioctl", code: LD_W_ABS, k: ARG1 },
    ...TTY_INJECT.map((k): Insn => ({ code: JEQ_K, k, jt: "eperm", jf: 0 })),
    { code: RET_K, k: RET_ALLOW },
    { label: "eperm", code: RET_K, k: RET_ERRNO | EPERM },
    { label: "enosys", code: RET_K, k: RET_ERRNO | ENOSYS },
  ];
  const labels = new Map(prog.flatMap((insn, i) => (insn.label ? [[insn.label, i] as const] : [])));
  const offset = (target: string | number | undefined, i: number): number => {
    if (typeof target !== "string") return target ?? 0;
    const to = labels.get(target);
    if (to === undefined || to <= i || to - i - 1 > 255) throw new Error(`bad BPF jump to ${target}`);
    return to - i - 1;
  };
  const out = Buffer.alloc(prog.length * 8);
  prog.forEach((insn, i) => {
    out.writeUInt16LE(insn.code, i * 8);
    out.writeUInt8(offset(insn.jt, i), i * 8 + 2);
    out.writeUInt8(offset(insn.jf, i), i * 8 + 3);
    out.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return out;
}
