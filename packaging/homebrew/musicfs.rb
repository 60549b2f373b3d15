# Homebrew formula (Linuxbrew): builds the single executable with Bun.
class Musicfs < Formula
  desc "Mount your music libraries as a read-only folder organised by tags (FUSE)"
  homepage "https://github.com/musicfs/musicfs"
  url "https://github.com/musicfs/musicfs/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000" # set at release
  license "MIT"

  depends_on "oven-sh/bun/bun" => :build
  depends_on :linux
  depends_on "libfuse" # provides fusermount3 for mounts by a normal user

  def install
    system "bun", "install", "--frozen-lockfile"
    system "bun", "run", "build"
    bin.install "dist/musicfs"
    (share/"musicfs").install "packaging/systemd/musicfs.service"
  end

  test do
    assert_match "musicfs", shell_output("#{bin}/musicfs --help")
    assert_match "There is no musicfs library", shell_output("#{bin}/musicfs search x --cache-dir #{testpath}/c 2>&1", 1)
  end
end
