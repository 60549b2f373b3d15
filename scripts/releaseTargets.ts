/** The release targets: archive names, Bun's cross-compilation targets, and what `uname -m` says on each. */
export interface ReleaseTarget {
  /** In the archive name: musicfs-<version>-<name>.tar.gz. */
  name: string;
  /** `bun build --compile --target=…` (the runtime for another target comes from the npm registry). */
  bunTarget: string;
  /** `uname -m` on a machine this target runs on. */
  uname: string;
  /** Checked under qemu-user on this (x86-64) build machine. */
  emulated: boolean;
}

export const RELEASE_TARGETS: readonly ReleaseTarget[] = [
  { name: "linux-x64", bunTarget: "bun-linux-x64", uname: "x86_64", emulated: false },
  { name: "linux-x64-baseline", bunTarget: "bun-linux-x64-baseline", uname: "x86_64", emulated: false },
  { name: "linux-arm64", bunTarget: "bun-linux-arm64", uname: "aarch64", emulated: true },
];

/** How the arm64 executable runs here: qemu-user with Debian's arm64 C library (libc6-arm64-cross). */
export const QEMU_ARM64 = ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"];

export const archiveName = (version: string, t: Pick<ReleaseTarget, "name">) => `musicfs-${version}-${t.name}`;
