# Homebrew formula (Homebrew on Linux): installs the release archive for the machine's architecture.
# `bun run release` fills in the version and the checksums (scripts/releasePackaging.ts).
class Musicfs < Formula
  desc "Mount your music libraries as a read-only folder organised by tags (FUSE)"
  homepage "https://github.com/musicfs/musicfs"
  version "0.1.0"
  license "MIT"

  on_linux do
    on_intel do
      url "https://github.com/musicfs/musicfs/releases/download/v0.1.0/musicfs-0.1.0-linux-x64.tar.gz"
      sha256 "0000000000000000000000000000000000000000000000000000000000000000" # linux-x64
    end
    on_arm do
      url "https://github.com/musicfs/musicfs/releases/download/v0.1.0/musicfs-0.1.0-linux-arm64.tar.gz"
      sha256 "0000000000000000000000000000000000000000000000000000000000000000" # linux-arm64
    end
  end

  depends_on :linux
  depends_on "libfuse" # fusermount3, for mounts by a normal user

  def install
    # The executable carries its program after the ELF sections: it must not be stripped or relinked.
    bin.install "musicfs"
    man1.install "musicfs.1"
    bash_completion.install "completions/musicfs.bash" => "musicfs"
    zsh_completion.install "completions/_musicfs"
    fish_completion.install "completions/musicfs.fish"
    pkgshare.install "musicfs.service"
  end

  def caveats
    <<~EOS
      To keep your library mounted while you are logged in (systemd user service):
        musicfs install-service
    EOS
  end

  test do
    assert_match "musicfs #{version} (commit ", shell_output("#{bin}/musicfs --version")
    assert_match "sample library", shell_output("#{bin}/musicfs demo --help")
  end
end
