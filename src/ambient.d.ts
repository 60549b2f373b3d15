// Text imports (Bun embeds them in the compiled binary).
declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "*.service" {
  const text: string;
  export default text;
}
