"""max-tools for LangChain: PostHog AI conversations as LangChain tools (`MaxToolkit`).

Not built yet; install the `langchain` extra once it lands.
"""
