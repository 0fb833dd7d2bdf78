/** A repository at the fake, with its issues. */
export interface FakeRepository {
  readonly owner: string
  readonly name: string
  readonly private: boolean
  readonly description: string | null
  /** Logins besides the owner who may read it and open issues (lower-cased). */
  readonly collaborators: Set<string>
  readonly issues: FakeIssue[]
}

export interface FakeIssue {
  readonly number: number
  readonly title: string
  readonly body: string | null
  readonly author: { login: string; id: number }
  readonly createdAt: string
}

export interface FakeRepositoryInput {
  owner: string
  name: string
  private?: boolean
  description?: string
  collaborators?: string[]
}

/** Repositories by lower-cased `owner/name`. */
export class FakeRepositories {
  readonly #byName = new Map<string, FakeRepository>()

  add(input: FakeRepositoryInput): FakeRepository {
    const repository: FakeRepository = {
      owner: input.owner,
      name: input.name,
      private: input.private ?? false,
      description: input.description ?? null,
      collaborators: new Set((input.collaborators ?? []).map((login) => login.toLowerCase())),
      issues: [],
    }
    this.#byName.set(`${input.owner}/${input.name}`.toLowerCase(), repository)
    return repository
  }

  find(owner: string, name: string): FakeRepository | undefined {
    return this.#byName.get(`${owner}/${name}`.toLowerCase())
  }

  all(): FakeRepository[] {
    return [...this.#byName.values()]
  }
}
