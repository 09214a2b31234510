/** Changes the supervisor makes to a launch after a failure (see src/domain/recovery-policy.ts). */
export interface LaunchFixes {
  /** codex: `--skip-git-repo-check` (recovery for `not_git_repo`). */
  skipGitRepoCheck?: boolean;
  /** gemini: `--skip-trust` (recovery for `untrusted_folder`). */
  skipTrust?: boolean;
  /** claude: `IS_SANDBOX=1` (recovery for `root_bypass_refused`, only when we run it inside our sandbox). */
  isSandbox?: boolean;
}
