export async function runDemo(_: unknown): Promise<unknown> { throw new Error('pending'); }
