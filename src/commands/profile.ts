export async function runProfile(_argv: string[]): Promise<number> {
  throw new Error('profile: being wired');
}
